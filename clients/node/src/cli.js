#!/usr/bin/env node
'use strict';
// Command line: node src/cli.js {describe,soft-targets,generate} --address HOST:PORT ...
//
// soft-targets sends Fashion-MNIST test images (--images N from --start) in batches of --batch on
// one stream and saves the log-probs [N, C] as a .npy file (float32; float16 replies are widened)
// to --out; or, with --tokens FILE.npy (token ids [B, L]), asks a language-model teacher and saves
// OUT (dense) or OUT.ids.npy, OUT.log_probs.npy and OUT.tail_log_mass.npy (with --k); or, with
// --texts FILE (JSON lines, one JSON string per line), sends the texts in one request for the teacher to
// tokenize itself and saves OUT.text_ids.npy, OUT.text_lengths.npy and OUT.byte_spans.npy too. One JSON
// line on stdout says what came back. generate asks a teacher for -n samples of each --prompt and
// prints one JSON line per sample as it arrives. Exit codes: 0 done, 3 a batch was refused
// (BatchError), 1 the call failed, 2 usage.
const { parseArgs } = require('node:util');
const { TeacherClient, BatchError, CODE_NAMES } = require('./client');
const { loadImages, DEFAULT_DIRECTORY } = require('./fashionMnist');
const npy = require('./npy');

// --address takes several replicas separated by commas; --retry-seconds (default 120) is how long
// a call goes on reconnecting while the service is UNAVAILABLE.
const USAGE = `usage: node src/cli.js describe --address HOST:PORT[,HOST:PORT...] [--api-key KEY] [--teacher NAME] [--retry-seconds S]
       node src/cli.js soft-targets --address HOST:PORT --out FILE.npy [--api-key KEY] [--teacher NAME]
              [--images N] [--start I] [--data DIR] [--tokens FILE.npy | --texts FILE.jsonl] [--batch B] [--window W]
              [--temperature T] [--dtype float32|float16] [--k K] [--sparse-kind top_k|sampled] [--seed S] [--by-digest]
       node src/cli.js generate --address HOST:PORT --teacher NAME [--api-key KEY] [--prompt TEXT ...] [-n N]
              [--max-new-tokens M] [--temperature T] [--top-p P] [--stop TEXT ...] [--seed S]`;

function concat(parts) {
  const Type = parts[0].values.constructor;
  const total = parts.reduce((n, p) => n + p.values.length, 0);
  const values = new Type(total);
  let at = 0;
  for (const p of parts) { values.set(p.values, at); at += p.values.length; }
  return { values, shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...parts[0].shape.slice(1)] };
}

function* batches(client, inputs, teacher, o) {
  const [count, ...rest] = inputs.shape;
  const size = rest.reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i += o.batch) {
    const n = Math.min(o.batch, count - i);
    const values = inputs.values.subarray(i * size, (i + n) * size);
    yield client.request(teacher, { values, shape: [n, ...rest] }, o.temperature, o.dtype, { k: o.k, sparseKind: o.sparseKind, seed: o.seed, byDigest: o.byDigest });
  }
}

async function textTargets(client, o) {
  const fs = require('node:fs');
  const texts = fs.readFileSync(o.texts, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  const request = client.textRequest(o.teacher || 'lm', texts, o.temperature, o.dtype, { k: o.k, sparseKind: o.sparseKind, seed: o.seed });
  let reply;
  for await (const r of client.softTargets([request], { window: o.window })) reply = r;
  if (reply.error) throw reply.error;
  const stem = o.out.replace(/\.npy$/, '');
  const t = reply.text_tokens;
  npy.save(`${stem}.text_ids.npy`, t.ids.values, t.ids.shape);
  npy.save(`${stem}.text_lengths.npy`, Int32Array.from(t.lengths), [t.lengths.length]);
  npy.save(`${stem}.byte_spans.npy`, t.byte_spans.values, t.byte_spans.shape);
  const summary = { texts: texts.length, teacher_versions: [reply.teacher_version], lengths: t.lengths };
  if (reply.sparse) {
    for (const part of ['ids', 'log_probs', 'tail_log_mass']) {
      if (!reply.sparse[part]) continue;
      npy.save(`${stem}.${part}.npy`, reply.sparse[part].values, reply.sparse[part].shape);
      summary[part] = { shape: reply.sparse[part].shape, dtype: reply.sparse[part].dtype };
    }
  } else {
    npy.save(o.out, reply.log_probs.values, reply.log_probs.shape);
    Object.assign(summary, { shape: reply.log_probs.shape, dtype: o.dtype });
  }
  console.log(JSON.stringify(summary));
}

async function softTargets(client, o) {
  if (o.texts) return textTargets(client, o);
  let inputs;
  let teacher;
  if (o.tokens) {
    inputs = npy.load(o.tokens);
    teacher = o.teacher || 'lm';
  } else {
    const all = loadImages('t10k', o.data);
    inputs = { values: all.values.subarray(o.start * 784, (o.start + o.images) * 784), shape: [o.images, ...all.shape.slice(1)] };
    teacher = o.teacher || 'fashion';
  }
  const replies = [];
  for await (const reply of client.softTargets(batches(client, inputs, teacher, o), { window: o.window })) {
    if (reply.error) throw reply.error;
    replies.push(reply);
  }
  const summary = {
    examples: inputs.shape[0],
    requests: replies.length,
    teacher_versions: [...new Set(replies.map((r) => r.teacher_version))].sort(),
    cache_hits: replies.reduce((n, r) => n + r.cache_hits, 0),
    missing: replies.reduce((n, r) => n + r.missing.length, 0),
  };
  if (replies.length > 0 && replies[0].sparse) {
    const stem = o.out.replace(/\.npy$/, '');
    for (const part of ['ids', 'log_probs', 'tail_log_mass']) {
      if (!replies[0].sparse[part]) continue;
      const all = concat(replies.map((r) => r.sparse[part]));
      npy.save(`${stem}.${part}.npy`, all.values, all.shape);
      summary[part] = { shape: all.shape, dtype: replies[0].sparse[part].dtype };
    }
  } else {
    const all = concat(replies.map((r) => r.log_probs));
    npy.save(o.out, all.values, all.shape);
    Object.assign(summary, { shape: all.shape, dtype: o.dtype });
  }
  console.log(JSON.stringify(summary));
}

async function generate(client, o) {
  const samples = client.generate(o.teacher, o.prompts, {
    n: o.n, maxNewTokens: o.maxNewTokens, temperature: o.generateTemperature, topP: o.topP, stop: o.stop, seed: o.seed,
  });
  for await (const sample of samples) console.log(JSON.stringify(sample));
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        address: { type: 'string' },
        'retry-seconds': { type: 'string', default: '120' },
        'api-key': { type: 'string', default: process.env.TEACHER_API_KEY },
        teacher: { type: 'string', default: '' },
        images: { type: 'string', default: '256' },
        start: { type: 'string', default: '0' },
        data: { type: 'string', default: DEFAULT_DIRECTORY },
        tokens: { type: 'string' },
        texts: { type: 'string' },
        batch: { type: 'string', default: '64' },
        window: { type: 'string', default: '8' },
        temperature: { type: 'string' }, // soft-targets: 4; generate: unset (1)
        dtype: { type: 'string', default: 'float32' },
        k: { type: 'string', default: '0' },
        'sparse-kind': { type: 'string', default: 'top_k' },
        seed: { type: 'string', default: '0' },
        'by-digest': { type: 'boolean', default: false },
        out: { type: 'string' },
        prompt: { type: 'string', multiple: true, default: [] },
        n: { type: 'string', short: 'n', default: '1' },
        'max-new-tokens': { type: 'string', default: '0' },
        'top-p': { type: 'string' },
        stop: { type: 'string', multiple: true, default: [] },
      },
    });
  } catch (e) {
    console.error(`error: ${e.message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const command = positionals[0];
  if (!['describe', 'soft-targets', 'generate'].includes(command) || !v.address
      || (command === 'soft-targets' && !v.out) || (command === 'generate' && !v.teacher)) {
    console.error(USAGE);
    return 2;
  }
  const o = {
    teacher: v.teacher, data: v.data, tokens: v.tokens, texts: v.texts, out: v.out, dtype: v.dtype, sparseKind: v['sparse-kind'],
    images: Number(v.images), start: Number(v.start), batch: Number(v.batch), window: Number(v.window),
    temperature: Number(v.temperature ?? 4), k: Number(v.k), seed: v.seed, byDigest: v['by-digest'],
    prompts: v.prompt, n: Number(v.n), maxNewTokens: Number(v['max-new-tokens']), stop: v.stop,
    // Not given: left unset on the wire, which the teacher reads as 1 (0 would mean greedy).
    generateTemperature: v.temperature === undefined ? undefined : Number(v.temperature),
    topP: v['top-p'] === undefined ? undefined : Number(v['top-p']),
  };
  const client = new TeacherClient(v.address, { apiKey: v['api-key'], retrySeconds: Number(v['retry-seconds']) });
  try {
    if (command === 'describe') {
      for (const t of await client.describe(v.teacher)) {
        const line = { name: t.name, version: t.version, task: t.task, num_outputs: t.num_outputs, max_batch: t.limits.max_batch };
        // An ensemble of the service's teachers: how it combines them, and each member's version and weight.
        if (t.ensemble) line.ensemble = { combination: t.ensemble.combination, members: t.ensemble.members.map((m) => ({ teacher: m.teacher, version: m.version, weight: m.weight })) };
        console.log(JSON.stringify(line));
      }
    } else if (command === 'generate') {
      await generate(client, o);
    } else {
      await softTargets(client, o);
    }
    return 0;
  } catch (e) {
    if (e instanceof BatchError) {
      console.error(`error: batch ${e.requestId}: ${e.message}`);
      return 3;
    }
    if (typeof e.code === 'number' && e.details !== undefined) {
      console.error(`error: ${CODE_NAMES[e.code] ?? e.code}: ${e.details}`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
