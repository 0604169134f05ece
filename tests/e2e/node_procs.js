// Node's event loop and process machinery: timers, promises, fs,
// crypto, child_process and worker_threads.
const fs = require('fs');
const crypto = require('crypto');
const cp = require('child_process');
const { Worker } = require('worker_threads');

const order = [];
setTimeout(() => {
  order.push('timeout');
  console.log('order:', order.join(' '));
}, 30);
Promise.resolve(41).then((v) => order.push('promise ' + (v + 1)));
fs.writeFileSync('/tmp/node_procs.txt', 'hello from node');
console.log('fs:', fs.readFileSync('/tmp/node_procs.txt', 'utf8'));
console.log('randomBytes:', crypto.randomBytes(32).length);
console.log('sha256:', crypto.createHash('sha256').update('husk').digest('hex').slice(0, 16));
console.log('execSync:', cp.execSync('echo child; echo err >&2', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
const r = cp.spawnSync('/bin/sh', ['-c', 'exit 7']);
console.log('spawnSync status:', r.status);
const w = new Worker('const { parentPort } = require("worker_threads"); parentPort.postMessage(6 * 7);', { eval: true });
w.on('message', (m) => {
  console.log('worker:', m);
  w.terminate();
});
