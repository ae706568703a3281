'use strict';
// GenerateRequests as they go on the wire: settings in one-field oneofs stay unset unless given.
const test = require('node:test');
const assert = require('node:assert/strict');
const { TeacherClient, loadContract } = require('../src/client');

const { Generate } = loadContract().Teacher.service;
const client = new TeacherClient('127.0.0.1:1'); // never called: the channel connects lazily
test.after(() => client.close());

/** The request as the service reads it: serialised by proto-loader, then parsed back. */
function onTheWire(request) {
  return Generate.requestDeserialize(Generate.requestSerialize(request));
}

test('temperature and top_p not given are not on the wire', () => {
  const wire = Generate.requestSerialize(client.generateRequest('lm', ['Once']));
  const back = Generate.requestDeserialize(wire);
  assert.equal('temperature' in back, false);
  assert.equal('top_p' in back, false);
  // teacher (1), prompts (2), n (3), max_new_tokens (4) and seed (8), and no tag 0x2d or 0x35
  // (temperature and top_p, fields 5 and 6, fixed32).
  assert.deepEqual([...wire], [0x0a, 0x02, ...Buffer.from('lm'), 0x12, 0x04, ...Buffer.from('Once'), 0x18, 0x01, 0x20, 0x00, 0x40, 0x00]);
});

test('temperature 0 is sent as 0 and not left unset', () => {
  const back = onTheWire(client.generateRequest('lm', ['Once'], { temperature: 0, topP: 0.5 }));
  assert.equal(back.optional_temperature, 'temperature');
  assert.equal(back.temperature, 0);
  assert.equal(back.optional_top_p, 'top_p');
  assert.equal(back.top_p, 0.5);
});

test('every setting is carried', () => {
  const back = onTheWire(client.generateRequest('lm', ['a', 'b'], { n: 3, maxNewTokens: 7, stop: ['\n', '.'], seed: -5 }));
  assert.deepEqual([back.teacher, back.prompts, back.n, back.max_new_tokens], ['lm', ['a', 'b'], 3, 7]);
  assert.deepEqual([back.stop, back.seed], [['\n', '.'], '-5']);
});

test('one string is not taken for an array of prompts', () => {
  assert.throws(() => client.generateRequest('lm', 'Once'), TypeError);
});
