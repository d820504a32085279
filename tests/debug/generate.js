#!/usr/bin/env node
// Regenerates the reference tables that tests/debug_namespaces.rs checks
// logjet against, by running the real npm `debug` module (and its `ms`).
//
//   npm ci --prefix tests/tools          # installs debug 4.4.3 and ms 2.1.3
//   node tests/debug/generate.js         # rewrites tests/debug/*.json
//
// The Rust tests read the committed JSON files and need no node.
'use strict';
const fs = require('fs');
const path = require('path');
const tools = path.join(__dirname, '..', 'tools', 'node_modules');
const createDebug = require(path.join(tools, 'debug', 'src', 'common.js'))({
  // A minimal environment: no persistence, no colours chosen at load.
  save() {}, load() { return ''; }, useColors() { return false; },
  formatArgs() {}, log() {}, colors: [6, 2, 3, 4, 5, 1],
});
const ms = require(path.join(tools, 'ms'));
const debugVersion = require(path.join(tools, 'debug', 'package.json')).version;

const specs = [
  '', ' ', ',', ',,', '*', '-*', '*,-*', '-*,*',
  'app', 'app:*', 'app:*,-app:db', '-app:db,app:*', 'app:*,-app:db*', 'app*', '*app', '*:db', 'a*p', 'app:*:pool',
  '*db*', '**', 'app:**', '*:*', 'app:db', 'app:db ', ' app:db', 'app:db,app:http', 'app:db app:http',
  'app:db\tapp:http', 'app:db\napp:http', 'app:db\r\napp:http', 'app:db\u00a0app:http', 'app:db\u3000app:http',
  'app:db\ufeffapp:http', 'app:db\u0085app:http', 'app:db\u180eapp:http', 'app:db\u2028app:http', 'app:db\u200bapp:http',
  'app:db,,app:http', ',app:db,', '-', '-,*', '--app', '--app,*', '-app', '-app,*', 'app,-app', '*,-app:*,app:db',
  'myapp::db*', 'myapp::*', 'myapp::db::pool', '*::pool', 'a.b', 'a?b', 'a+b', '[ab]', '(app)', '^app$', 'app\\db',
  'a*b*c', '*a*', 'é*', '*🎉', 'APP', 'app:DB', 'a**b', '*-', '-*-', 'app:*,-*:db,-*:http',
];
const names = [
  '', 'app', 'app:', 'app:db', 'app:http', 'app:db:pool', 'app:dbx', 'xapp', 'application', 'a', 'ab', 'abc', 'axbxc', 'a.b', 'axb',
  'a?b', 'a+b', '[ab]', '(app)', '^app$', 'app\\db', 'app:DB', 'APP', 'myapp::db', 'myapp::db::pool', 'x::pool',
  '-app', '-', '*', 'éclair', 'party:🎉', 'app:db app:http', 'a-', 'b', 'db', ':db',
];

function enabledUnder(spec, name) {
  createDebug.enable(spec);
  return createDebug.enabled(name);
}

const enabled = [];
for (const spec of specs) {
  for (const name of names) {
    enabled.push([spec, name, enabledUnder(spec, name)]);
  }
}

// disable() returns the spec it turned off, normalized.
const disabled = specs.map(spec => {
  createDebug.enable(spec);
  return [spec, createDebug.disable()];
});

// node.js assigns its palettes at load: the basic one, then the 256-colour
// one only when supports-color is installed and says so. Read both from the
// source so the table never depends on the terminal that runs this script.
const src = fs.readFileSync(path.join(tools, 'debug', 'src', 'node.js'), 'utf8');
const palettes = src.split('exports.colors = [').slice(1).map(p => JSON.parse('[' + p.split(']')[0] + ']'));
const [basic, list256] = palettes;
if (basic.length !== 6 || list256.length !== 76) throw new Error('unexpected palettes in debug/src/node.js');
const colorNames = [...names.filter(Boolean), 'worker', 'http', 'express:router', 'express:application', 'knex:query',
  'socket.io:client', 'engine:ws', 'ioredis:redis', 'koa:application', 'babel', 'mongoose', 'x', 'test:1', 'test:2',
  'a'.repeat(100), '日本語', 'emoji:😀', 'surrogates:𝒳𝒴'];
const colors = colorNames.map(name => {
  createDebug.colors = basic;
  const b = createDebug.selectColor(name);
  createDebug.colors = list256;
  const c = createDebug.selectColor(name);
  return [name, b, c];
});

const humanize = [0, 1, 5, 999, 1000, 1499, 1500, 1501, 2500, 59999, 60000, 89999, 90000, 3599999, 3600000, 5400000,
  86399999, 86400000, 129600000, 1000000000, -1, -1500, -2500, -90000].map(n => [n, ms(n)]);

const out = (file, value, note) => {
  const head = { generated_by: 'tests/debug/generate.js', debug_version: debugVersion, note };
  const text = JSON.stringify(head).slice(0, -1) + ',"cases":[\n' + value.map(c => JSON.stringify(c)).join(',\n') + '\n]}\n';
  fs.writeFileSync(path.join(__dirname, file), text);
};
out('enabled.json', enabled, '[spec, namespace, enabled] from debug.enable(spec); debug.enabled(namespace)');
out('disable.json', disabled, '[spec, what debug.disable() returns after debug.enable(spec)]');
out('colors.json', colors, '[namespace, basic colour, 256-colour] from debug.selectColor with each palette');
out('palettes.json', palettes, '[basic palette, 256-colour palette] of debug/src/node.js');
out('humanize.json', humanize, '[milliseconds, ms(milliseconds)]: the +NNms suffix');
console.log(`debug ${debugVersion}: ${enabled.length} enabled cases, ${disabled.length} disable cases, ${colors.length} colours, ${humanize.length} durations`);
