const SECTIONS = [
  ["feat", "Features"],
  ["fix", "Fixes"],
  ["perf", "Performance"],
];

export function sectionOf(title) {
  const m = /^(\w+)(\(.+\))?!?:/.exec(title);
  return m ? m[1] : "other";
}

export function formatNotes(version, pulls) {
  const lines = [`*${version}*`];
  for (const [key, heading] of SECTIONS) {
    const items = pulls.filter((p) => sectionOf(p.title) === key);
    if (!items.length) continue;
    lines.push("", `_${heading}_`);
    for (const p of items) lines.push(`• ${p.title.replace(/^\w+(\(.+\))?!?:\s*/, "")} (<${p.html_url}|#${p.number}>)`);
  }
  return lines.join("\n");
}
