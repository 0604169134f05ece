// Node's event loop and process machinery: timers, promises, fs,
// crypto, child_process and worker_threads.  Results are printed in a
// fixed order at exit: the timer and the worker may finish either way.
const fs = require('fs');
const crypto = require('crypto');
const cp = require('child_process');
const { Worker } = require('worker_threads');

const out = {};
const order = [];
setTimeout(() => order.push('timeout'), 30);
Promise.resolve(41).then((v) => order.push('promise ' + (v + 1)));
fs.writeFileSync('/tmp/node_procs.txt', 'hello from node');
out.fs = fs.readFileSync('/tmp/node_procs.txt', 'utf8');
out.randomBytes = crypto.randomBytes(32).length;
out.sha256 = crypto.createHash('sha256').update('husk').digest('hex').slice(0, 16);
out.execSync = cp.execSync('echo child; echo err >&2', { stdio: ['ignore', 'pipe', 'ignore'] })
  .toString().trim();
out.spawnSyncStatus = cp.spawnSync('/bin/sh', ['-c', 'exit 7']).status;
const w = new Worker('const { parentPort } = require("worker_threads"); parentPort.postMessage(6 * 7);',
  { eval: true });
w.on('message', (m) => {
  out.worker = m;
  w.terminate();
});
process.on('exit', () => {
  out.order = order.join(' ');
  for (const k of Object.keys(out).sort()) console.log(k + ':', out[k]);
});
