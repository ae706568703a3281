'use strict';
// A replica that stops: the client goes on with the next one, sends again what was not answered,
// and gives each request exactly one reply and each sample exactly once. The replicas are small
// grpc-js servers in this process that answer like the teacher service and stop like it.
const test = require('node:test');
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const { TeacherClient, loadContract, STOPPING_PREFIX } = require('../src/client');

const { Teacher } = loadContract();
const stopping = (what) => ({ code: grpc.status.UNAVAILABLE, details: `${STOPPING_PREFIX}: ${what}` });

/**
 * Answers each request with its own inputs as log-probs; after `answers` replies (Infinity:
 * never) ends the call with UNAVAILABLE, as a stopping teacher service does.
 */
async function replica(answers = Infinity) {
  const answered = [];
  const server = new grpc.Server();
  server.addService(Teacher.service, {
    SoftTargets(call) {
      call.on('data', (request) => {
        if (answered.length >= answers) { call.emit('error', stopping('send the rest again.')); return; }
        answered.push(request.request_id);
        call.write({ request_id: request.request_id, teacher: request.teacher, log_probs: request.inputs });
      });
      call.on('end', () => call.end());
    },
    Generate(call) {
      const { prompts, n } = call.request;
      for (let p = 0; p < prompts.length; p += 1) {
        for (let i = 0; i < n; i += 1) {
          if (answered.length >= answers) { call.emit('error', stopping('call again.')); return; }
          answered.push(`${prompts[p]}/${i}`);
          call.write({ teacher: call.request.teacher, samples: [{ prompt_index: p, sample_index: i, text: `${prompts[p]}/${i}` }] });
        }
      }
      call.end();
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return { address: `127.0.0.1:${port}`, answered, stop: () => server.forceShutdown() };
}

async function collect(iterable) {
  const all = [];
  for await (const item of iterable) all.push(item);
  return all;
}

test('a stream whose replica stops goes on with the next and each request gets one reply', async () => {
  const [first, other] = [await replica(5), await replica()];
  const client = new TeacherClient(`${first.address},${other.address}`, { retrySeconds: 30 });
  try {
    const requests = Array.from({ length: 40 }, (_, i) => client.request('fashion', { values: new Float32Array([i]), shape: [1, 1] }, 1));

    const replies = await collect(client.softTargets(requests, { window: 8 }));

    assert.deepEqual(replies.map((r) => r.request_id), Array.from({ length: 40 }, (_, i) => String(i + 1)));
    assert.deepEqual(replies.map((r) => r.log_probs.values[0]), Array.from({ length: 40 }, (_, i) => i));
    assert.deepEqual(first.answered, ['1', '2', '3', '4', '5']);
    // Over both replicas, every request answered exactly once.
    assert.deepEqual([...first.answered, ...other.answered].map(Number).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
  } finally {
    client.close();
    first.stop();
    other.stop();
  }
});

test('a generate call whose replica stops is finished by the next and each sample comes once', async () => {
  const [first, other] = [await replica(5), await replica()];
  const client = new TeacherClient([first.address, other.address], { retrySeconds: 30 });
  try {
    const prompts = ['a', 'b', 'c', 'd'];

    const samples = await collect(client.generate('lm', prompts, { n: 3 }));

    const keys = samples.map((s) => `${s.prompt_index}/${s.sample_index}`).sort();
    assert.deepEqual(keys, prompts.flatMap((_, p) => [0, 1, 2].map((i) => `${p}/${i}`)).sort());
    assert.ok(samples.every((s) => s.text === `${prompts[s.prompt_index]}/${s.sample_index}`));
    assert.equal(first.answered.length, 5);
    // The prompt the stopping replica finished (the first) is not asked again.
    assert.ok(!other.answered.includes('a/0'));
  } finally {
    client.close();
    first.stop();
    other.stop();
  }
});

test('with no retry time an unreachable service fails at once', async () => {
  const gone = await replica();
  gone.stop();
  const client = new TeacherClient(gone.address, { retrySeconds: 0 });
  try {
    const request = client.request('fashion', { values: new Float32Array([0]), shape: [1, 1] }, 1);
    await assert.rejects(collect(client.softTargets([request])), (error) => error.code === grpc.status.UNAVAILABLE);
  } finally {
    client.close();
  }
});
