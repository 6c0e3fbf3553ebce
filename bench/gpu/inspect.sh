#!/usr/bin/env bash
# Static inspection of every CUDA kernel, no GPU needed: compiles each cuda/*.cu to a cubin per
# architecture with the build's flags and reports, per kernel, registers, stack frame, spills,
# static shared memory (smem.st; on sm_90 it counts the 1 KB the system reserves per block; the
# kernels' dynamic shared memory is sized at launch), and counts from the SASS:
# tensor-core instructions (HMMA, HGMMA), 16-byte global accesses (LDG/STG .128, LDGSTS),
# narrower ones, shared-matrix loads (LDSM) and local memory (LDL/STL).
#
#   bench/gpu/inspect.sh [ARCH...]     e.g. bench/gpu/inspect.sh 80 86 89 90 (default 90)
#
# Exits non-zero when a kernel spills or touches local memory, when a kernel named *Mma* has no
# HMMA/HGMMA, or when the compiler warns. The SASS columns need cuobjdump: it is taken from
# $CUOBJDUMP, PATH, $CUDA_HOME/bin, /usr/local/cuda/bin or Triton's bundled copy; without it
# they read '-' and only the compiler's report is checked.
set -euo pipefail
cd "$(dirname "$0")/../.."

archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(90)

find_cuobjdump() {
  local c
  for c in "${CUOBJDUMP:-}" "$(command -v cuobjdump || true)" "${CUDA_HOME:-/nonexistent}/bin/cuobjdump" \
    /usr/local/cuda/bin/cuobjdump; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return; }
  done
  c=$(python3 -c 'import os, triton; print(os.path.join(os.path.dirname(triton.__file__), "backends/nvidia/bin/cuobjdump"))' 2>/dev/null || true)
  [ -n "$c" ] && [ -x "$c" ] && echo "$c"
}
cuobjdump=$(find_cuobjdump || true)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The flags of CMakeLists.txt's sa_cuda target in a Release build.
flags=(-std=c++17 -O3 -DNDEBUG --expt-relaxed-constexpr -lineinfo -Xptxas=-warn-spills -I native -I .)

echo "nvcc: $(nvcc --version | tail -n 1)"
echo "cuobjdump: ${cuobjdump:-not found (SASS columns skipped)}"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet -- cuda native cmake CMakeLists.txt 2>/dev/null || echo ' (with local changes to the sources)')"
printf '\n%-5s %-44s %4s %5s %9s %6s %5s %5s %6s %7s %7s %7s %7s %5s %7s\n' arch kernel regs stack spill_st/ld \
  smem.st HMMA HGMMA LDGSTS LDG.128 LDG.nar STG.128 STG.nar LDSM LDL/STL

status=0
for arch in "${archs[@]}"; do
  for src in cuda/*.cu; do
    name=$(basename "$src" .cu)
    cubin="$work/$arch-$name.cubin"
    if ! nvcc "${flags[@]}" -arch="sm_$arch" -cubin -Xptxas -v "$src" -o "$cubin" >"$work/log" 2>&1; then
      cat "$work/log"
      exit 1
    fi
    if grep -qi 'warning' "$work/log"; then
      grep -i 'warning' "$work/log" | sed "s/^/sm_$arch $name: /"
      status=1
    fi
    : >"$work/res"
    : >"$work/sass"
    if [ -n "$cuobjdump" ]; then
      "$cuobjdump" -res-usage "$cubin" >"$work/res"
      "$cuobjdump" -sass "$cubin" >"$work/sass"
    fi
    # One row per kernel: ptxas's report, static shared memory and the SASS counts, by mangled name.
    awk -v arch="$arch" -v have_sass="${cuobjdump:+1}" '
      FILENAME == ARGV[1] && /Function properties for/ { fn = $NF; order[++n] = fn }
      FILENAME == ARGV[1] && /bytes stack frame/ { stack[fn] = $1; st[fn] = $5; ld[fn] = $9 }
      FILENAME == ARGV[1] && /Used [0-9]+ registers/ { for (i = 1; i <= NF; i++) if ($i == "Used") regs[fn] = $(i + 1) }
      FILENAME == ARGV[2] && /^ Function / { rf = $2; sub(/:$/, "", rf) }
      FILENAME == ARGV[2] && /SHARED:/ { for (i = 1; i <= NF; i++) if ($i ~ /^SHARED:/) { split($i, kv, ":"); smem[rf] = kv[2] } }
      FILENAME == ARGV[3] && /Function : / { sf = $NF }
      FILENAME == ARGV[3] && /^ +\/\*[0-9a-f]+\*\/ / {
        op = $2; if (op ~ /^@/) op = $3
        if (op ~ /^HMMA/) hmma[sf]++
        else if (op ~ /^HGMMA/) hgmma[sf]++
        else if (op ~ /^LDGSTS/) ldgsts[sf]++
        else if (op ~ /^LDG(\.|$)/) { if (op ~ /\.128/) ldg128[sf]++; else ldgn[sf]++ }
        else if (op ~ /^STG(\.|$)/) { if (op ~ /\.128/) stg128[sf]++; else stgn[sf]++ }
        else if (op ~ /^LDSM/) ldsm[sf]++
        else if (op ~ /^(LDL|STL)/) local[sf]++
      }
      END {
        for (i = 1; i <= n; i++) {
          f = order[i]
          c = have_sass ? "%5d %5d %6d %7d %7d %7d %7d %5d %7d" : "%5s %5s %6s %7s %7s %7s %7s %5s %7s"
          printf "%s\t%s\t%d\t%d\t%d/%d\t%s\t" c "\n", arch, f, regs[f], stack[f], st[f], ld[f], \
            (f in smem ? smem[f] : "-"), \
            have_sass ? hmma[f] + 0 : "-", have_sass ? hgmma[f] + 0 : "-", have_sass ? ldgsts[f] + 0 : "-", \
            have_sass ? ldg128[f] + 0 : "-", have_sass ? ldgn[f] + 0 : "-", have_sass ? stg128[f] + 0 : "-", \
            have_sass ? stgn[f] + 0 : "-", have_sass ? ldsm[f] + 0 : "-", have_sass ? local[f] + 0 : "-"
        }
      }' "$work/log" "$work/res" "$work/sass" >"$work/rows"
    # Readable kernel names: demangled, without namespaces, parameters or dtype casts.
    while IFS=$'\t' read -r a fn regs stack spills smem counts; do
      pretty=$(echo "$fn" | c++filt | sed -E 's/\(sa::DType\)0/f32/g; s/\(sa::DType\)1/f16/g; s/\(sa::DType\)2/bf16/g;
        s/\(sa::DType\)3/i32/g; s/^void //; s/sa::(\(anonymous namespace\)::)?//g; s/\(.*\)$//; s/unsigned short/u16/g;
        s/unsigned int/u32/g')
      printf '%-5s %-44s %4s %5s %9s %6s %s\n' "sm_$a" "$pretty" "$regs" "$stack" "$spills" "$smem" "$counts"
      local_ops=$(echo "$counts" | awk '{print $NF}')
      if [ "$spills" != "0/0" ] || [ "$stack" != "0" ] || { [ "$local_ops" != "-" ] && [ "$local_ops" != "0" ]; }; then
        echo "  ^ local memory: spills or a stack frame"
        status=1
      fi
      if [[ "$pretty" == *Mma* ]] && [ -n "$cuobjdump" ] && [ "$(echo "$counts" | awk '{print $1 + $2}')" = 0 ]; then
        echo "  ^ a tensor-core kernel without HMMA/HGMMA"
        status=1
      fi
    done <"$work/rows"
  done
done
[ $status -eq 0 ] && echo "inspect: no spills, no local memory, tensor-core kernels use HMMA" || echo "inspect: FAILED"
exit $status
