// Flags of `npm run bench`.
import { OPS } from './configs.mjs';
import { IMPLEMENTATIONS } from './implementations.mjs';

export const ALL_PEERS = IMPLEMENTATIONS.filter((i) => i.peer).map((i) => i.id);

export const USAGE = `usage: npm run bench -- [--quick] [--ops ${OPS.join(',')}] [--lengths 1k,4k,16k,64k,1024k]
       [--variants V,...] [--peers ${ALL_PEERS.join(',')}|none] [--device cpu|cuda|all] [--max-minutes N]
  --quick        CI subset: L = 1k and 4k, dense/local/lsh/linear, 8 s per run, no plots
  --ops          ops to run (default: all)
  --lengths      sequence lengths, e.g. 4096 or 4k (default 1k,4k,16k,64k,1024k; 1024k: local
                 attention with one global token only)
  --variants     only these configurations of the ops, e.g. longformer-g1,reformer-h4 (default: all)
  --peers        peers to compare with (default: all that are installed)
  --device       this package on cpu, cuda or all (default: all devices present)
  --max-minutes  no peer run starts after this (default 25; 2.5 with --quick)`;

function parseLength(text) {
  const m = /^(\d+)(k?)$/i.exec(text.trim());
  if (!m) throw new Error(`--lengths: '${text}' is not a length (e.g. 4096 or 4k)`);
  return Number(m[1]) * (m[2] ? 1024 : 1);
}

/**
 * { quick, filtered, ops?, lengths?, variants?, peers?, device?, maxMinutes?, help? }; `filtered` is
 * set when any flag narrows the default set (the results are then not the full run's).
 */
export function parseArgs(argv) {
  const args = { quick: false, filtered: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return { help: true };
    if (flag === '--quick') {
      args.quick = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    args.filtered = true;
    if (flag === '--ops') args.ops = value.split(',');
    else if (flag === '--lengths') args.lengths = value.split(',').map(parseLength);
    else if (flag === '--variants') args.variants = value.split(',');
    else if (flag === '--peers') args.peers = value === 'none' ? [] : value.split(',');
    else if (flag === '--device') args.device = value;
    else if (flag === '--max-minutes') args.maxMinutes = Number(value);
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  for (const op of args.ops ?? []) if (!OPS.includes(op)) throw new Error(`--ops: unknown op ${op} (${OPS.join(', ')})`);
  for (const p of args.peers ?? []) if (!ALL_PEERS.includes(p)) throw new Error(`--peers: unknown peer ${p} (${ALL_PEERS.join(', ')})`);
  if (args.device !== undefined && !['cpu', 'cuda', 'all'].includes(args.device)) throw new Error('--device must be cpu, cuda or all');
  if (args.maxMinutes !== undefined && !(args.maxMinutes > 0)) throw new Error('--max-minutes must be a positive number');
  return args;
}
