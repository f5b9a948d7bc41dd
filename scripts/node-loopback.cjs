'use strict';
// Node preload that keeps every TCP server on the loopback interface:
//
//     node --require ./scripts/node-loopback.cjs <script> ...
//     NODE_OPTIONS="--require /abs/path/scripts/node-loopback.cjs" <tool> ...
//
// It wraps net.Server.prototype.listen (so http/https servers too) and forces host 127.0.0.1
// for every port form: listen(), listen(cb), listen(port[, host][, backlog][, cb]),
// listen(port, backlog[, cb]), listen({port, host, ...}[, cb]). Unix-socket paths, handles and
// fds pass through untouched.
//
// Behaviour stays synchronous: Node resolves a listen host with dns.lookup, which answers on a
// later tick even for an IP literal, so server.address() would be null right after listen()
// returns (unlike a host-less listen, which binds at once). During the wrapped call dns.lookup
// answers '127.0.0.1' synchronously, so the socket is bound before listen() returns; the
// 'listening' event and the callback still come on a later tick, as usual.

const net = require('net');
const dns = require('dns');

const HOST = '127.0.0.1';
const MARK = Symbol.for('mcpmux.nodeLoopback');

if (!net.Server.prototype[MARK]) {
  const originalListen = net.Server.prototype.listen;

  const toNumber = (x) => {
    const n = Number(x);
    return n >= 0 ? n : false;
  };
  // Same test Node uses to tell a port from a pipe path: a number, or a string of digits.
  const isPort = (x) => typeof x === 'number' || (typeof x === 'string' && x !== '' && toNumber(x) !== false);

  // Returns [options, cb] for a TCP listen, or null to pass the call through unchanged.
  function normalize(args) {
    let cb;
    if (args.length > 0 && typeof args[args.length - 1] === 'function') {
      cb = args[args.length - 1];
      args = args.slice(0, -1);
    }
    const first = args[0];
    let options;
    if (first === undefined || first === null) {
      options = { port: 0 };
    } else if (typeof first === 'object') {
      if (first.path != null || first.handle != null || first._handle != null || first.fd != null) return null;
      options = { ...first }; // a missing port keeps Node's own error
    } else if (isPort(first)) {
      options = { port: first };
      let backlog;
      if (typeof args[1] === 'string') backlog = toNumber(args[2]); // (port, host, backlog)
      else backlog = toNumber(args[1]) || toNumber(args[2]); // (port, backlog) / (port, undefined, backlog)
      if (backlog) options.backlog = backlog;
    } else {
      return null; // pipe path
    }
    options.host = HOST;
    delete options.ipv6Only;
    return [options, cb];
  }

  function syncLoopbackLookup(originalLookup) {
    return function lookup(hostname, opts, callback) {
      if (typeof opts === 'function') {
        callback = opts;
        opts = {};
      }
      if (hostname === HOST && typeof callback === 'function') {
        if (opts && opts.all) callback(null, [{ address: HOST, family: 4 }]);
        else callback(null, HOST, 4);
        return {};
      }
      return originalLookup.call(this, hostname, opts, callback);
    };
  }

  net.Server.prototype.listen = function listen(...args) {
    const normalized = normalize(args);
    if (normalized === null) return originalListen.apply(this, args);
    const [options, cb] = normalized;
    const originalLookup = dns.lookup;
    dns.lookup = syncLoopbackLookup(originalLookup);
    try {
      return cb ? originalListen.call(this, options, cb) : originalListen.call(this, options);
    } finally {
      dns.lookup = originalLookup;
    }
  };
  Object.defineProperty(net.Server.prototype, MARK, { value: true });
}
