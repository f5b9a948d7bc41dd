'use strict';
// Summarizes one checks.json written by the conformance suite (`conformance client -o DIR`):
//
//     node tests/conformance/checks.cjs <checks.json>
//
// stdout, line 1: "<checks> <passed> <failed> <warnings> <skipped>", where checks counts SUCCESS
// and FAILURE (as the suite does; INFO is a log entry, SKIPPED verified nothing). Then one line
// per FAILURE / WARNING / SKIPPED check: "<STATUS> <id>: <message>". A missing or unreadable file
// prints "0 0 0 0 0" and a FAILURE line saying why.

const fs = require('fs');

const file = process.argv[2];
let checks;
try {
  checks = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(checks)) throw new Error('not a JSON array');
} catch (e) {
  console.log('0 0 0 0 0');
  console.log(`FAILURE checks.json: ${file}: ${e.message}`);
  process.exit(0);
}

const count = (s) => checks.filter((c) => c && c.status === s).length;
const passed = count('SUCCESS');
const failed = count('FAILURE');
console.log(`${passed + failed} ${passed} ${failed} ${count('WARNING')} ${count('SKIPPED')}`);
for (const c of checks) {
  if (!c || !['FAILURE', 'WARNING', 'SKIPPED'].includes(c.status)) continue;
  const why = String(c.errorMessage || c.description || '').replace(/\s+/g, ' ').slice(0, 300);
  console.log(`${c.status} ${c.id}${c.name && c.name !== c.id ? ` (${c.name})` : ''}: ${why}`);
}
