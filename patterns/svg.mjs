// Minimal SVG drawings: a query × key grid and strips of coloured tokens.
const CELL = 10;
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function colour(i) {
  return PALETTE[i % PALETTE.length];
}

function frame(minWidth, height, title, body) {
  const width = Math.max(minWidth, Math.ceil(title.length * 6.6) + 8);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="4" y="14">${title}</text>
${body}
</svg>
`;
}

/**
 * Query rows × key columns; `cellColour(i, j)` gives a fill or null for an unseen key.
 * `order` lists the token shown at each row/column position (default: original order).
 */
export function grid(L, title, cellColour, order = [...Array(L).keys()]) {
  const top = 24, left = 4;
  const cells = [];
  for (let r = 0; r < L; r++)
    for (let c = 0; c < L; c++) {
      const fill = cellColour(order[r], order[c]);
      if (fill) cells.push(`<rect x="${left + c * CELL}" y="${top + r * CELL}" width="${CELL - 1}" height="${CELL - 1}" fill="${fill}"/>`);
    }
  const border = `<rect x="${left - 1}" y="${top - 1}" width="${L * CELL + 1}" height="${L * CELL + 1}" fill="none" stroke="#999"/>`;
  return frame(L * CELL + 8, L * CELL + top + 6, title, border + '\n' + cells.join('\n'));
}

/** Rows of tokens coloured by value, each row labelled; `marks` draws separators after positions. */
export function strips(title, rows, marks = []) {
  const top = 24, labelWidth = 150;
  const width = Math.max(...rows.map((r) => r.values.length)) * CELL + labelWidth + 8;
  const body = rows.map((row, k) => {
    const y = top + k * (CELL + 16);
    const cells = row.values.map((v, i) =>
      `<rect x="${labelWidth + i * CELL}" y="${y}" width="${CELL - 1}" height="${CELL}" fill="${colour(v)}"><title>${row.titles?.[i] ?? v}</title></rect>`);
    const seps = (row.marks ?? marks).map((p) =>
      `<line x1="${labelWidth + p * CELL - 0.5}" y1="${y - 3}" x2="${labelWidth + p * CELL - 0.5}" y2="${y + CELL + 3}" stroke="black"/>`);
    return `<text x="4" y="${y + 9}">${row.label}</text>\n${cells.join('\n')}\n${seps.join('\n')}`;
  });
  return frame(width, top + rows.length * (CELL + 16), title, body.join('\n'));
}
