'use strict';
// JSON-RPC 2.0 over WebSocket (and plain HTTP POST) on 127.0.0.1. Methods in `handlers` win;
// everything else goes to chopsticks-core's own handlers for the chain.

const http = require('node:http');
const { WebSocketServer, WebSocket } = require('ws');
const core = require('@acala-network/chopsticks-core');

class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

let subCounter = 0;

// Position of the optional block-hash parameter of the methods chopsticks-core answers.
const AT_PARAM = {
  chain_getHeader: 0, chain_getBlock: 0, state_getRuntimeVersion: 0, state_getMetadata: 0,
  state_getStorage: 1, state_getStorageHash: 1, state_getStorageSize: 1, state_getKeys: 1,
  state_getKeysPaged: 3, state_call: 2, state_queryStorageAt: 1, system_dryRun: 1,
  payment_queryInfo: 1, payment_queryFeeDetails: 1, childstate_getStorage: 2,
  childstate_getKeysPaged: 4, childstate_getStorageHash: 2, childstate_getStorageSize: 2,
};

class RpcServer {
  constructor(name, handlers, devChain) {
    this.name = name;
    this.handlers = handlers;
    this.dc = devChain;
    this.sockets = new Set();
  }

  async fallback(method, params, manager) {
    const h = core.allHandlers[method];
    if (!h) throw new RpcError(-32601, `Method not found: ${method}`);
    // A block hash the chain never produced must be answered as a node does (null header, or
    // "unknown block"): chopsticks-core would ask its genesis provider for it, which answers
    // with the genesis block, and then records that hash as block #0 — after which every
    // transaction fails CheckGenesis (BadProof). A client that hashes a tampered header and asks
    // about it (the tampering proxy's alter-header mode) triggered exactly that.
    const at = AT_PARAM[method];
    if (at !== undefined && typeof params[at] === 'string' && params[at] !== '' &&
        this.dc.records && !this.dc.records.has(params[at].toLowerCase())) {
      if (method === 'chain_getHeader' || method === 'chain_getBlock') return null;
      throw new RpcError(-32000, `Unknown block ${params[at]}`);
    }
    return h({ chain: this.dc.chain }, params, manager);
  }

  async call(method, params, manager) {
    if (method === 'rpc_methods') {
      const methods = new Set([...Object.keys(core.allHandlers), ...Object.keys(this.handlers)]);
      return { version: 1, methods: [...methods].sort() };
    }
    const h = this.handlers[method];
    if (h) return h(params, manager, (m, p) => this.fallback(m, p, manager));
    return this.fallback(method, params, manager);
  }

  async handle(req, manager) {
    const id = req && req.id !== undefined ? req.id : null;
    if (!req || typeof req.method !== 'string') {
      return { jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid request' } };
    }
    try {
      const params = req.params === undefined ? [] : req.params;
      const result = await this.call(req.method, Array.isArray(params) ? params : [params], manager);
      return { jsonrpc: '2.0', id, result: result === undefined ? null : result };
    } catch (e) {
      const code = Number.isInteger(e.code) ? e.code : -32000;
      return { jsonrpc: '2.0', id, error: { code, message: e.message || String(e) } };
    }
  }

  listen(host, port) {
    return new Promise((resolve, reject) => {
      const server = http.createServer((req, res) => this.onHttp(req, res));
      const wss = new WebSocketServer({ server, maxPayload: 100 * 1024 * 1024 });
      wss.on('connection', (ws) => this.onConnection(ws));
      server.once('error', reject);
      server.listen(port, host, () => {
        server.removeListener('error', reject);
        this.server = server;
        this.wss = wss;
        this.port = server.address().port;
        resolve(this.port);
      });
    });
  }

  onHttp(req, res) {
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain' });
      res.end('POST JSON-RPC or connect with WebSocket\n');
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (_) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
        return;
      }
      const noSubs = {
        newId: () => { throw new RpcError(-32000, 'Subscriptions need a WebSocket'); },
        subscribe: () => { throw new RpcError(-32000, 'Subscriptions need a WebSocket'); },
        unsubscribe: () => false,
      };
      const out = Array.isArray(body) ? await Promise.all(body.map((r) => this.handle(r, noSubs))) : await this.handle(body, noSubs);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  }

  onConnection(ws) {
    this.sockets.add(ws);
    const subs = new Map(); // id -> onCancel
    const send = (obj) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
    };
    const manager = {
      newId: () => `${this.name}-${++subCounter}`,
      subscribe: (method, subid, onCancel = () => {}) => {
        subs.set(subid, onCancel);
        return (data) => {
          if (subs.has(subid)) send({ jsonrpc: '2.0', method, params: { subscription: subid, result: data } });
        };
      },
      unsubscribe: (subid) => {
        const c = subs.get(subid);
        if (!c) return false;
        subs.delete(subid);
        try { c(subid); } catch (_) { /* ignore */ }
        return true;
      },
    };
    ws.on('message', async (data) => {
      let req;
      try {
        req = JSON.parse(data.toString('utf8'));
      } catch (_) {
        send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
        return;
      }
      if (Array.isArray(req)) send(await Promise.all(req.map((r) => this.handle(r, manager))));
      else send(await this.handle(req, manager));
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      for (const id of [...subs.keys()]) manager.unsubscribe(id);
    });
    ws.on('error', () => {});
  }

  close() {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      for (const ws of this.sockets) ws.terminate();
      this.sockets.clear();
      const server = this.server;
      this.server = null;
      this.wss.close(() => server.close(() => resolve()));
      server.closeAllConnections?.();
    });
  }
}

module.exports = { RpcServer, RpcError };
