'use strict';
// A client of the TeacherStudent teacher service: Describe, the SoftTargets stream and Generate,
// with the contract loaded from protos/distill/v1/teacher.proto at run time (no generated code).
const crypto = require('node:crypto');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { decode, encode } = require('./tensors');

const API_KEY_HEADER = 'x-api-key';
// How every status of a teacher service that is stopping (a rolling update) begins: it answered
// what it had read, and the rest is sent again, to another replica if there is one.
const STOPPING_PREFIX = 'the teacher service is stopping';
const DEFAULT_PROTOS = path.resolve(__dirname, '..', '..', '..', 'protos');

/** google.rpc.Code number -> name. */
const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));

/** The teacher answered one batch with an error; the stream goes on. */
class BatchError extends Error {
  constructor(requestId, code, message) {
    super(`${CODE_NAMES[code] ?? code} (${code}): ${message}`);
    this.requestId = requestId;
    this.code = code;
    this.codeName = CODE_NAMES[code] ?? String(code);
    this.details = message;
  }
}

/** Loads distill.v1 from protosDir (default: the repository's protos/, or $TEACHERSTUDENT_PROTOS). */
function loadContract(protosDir = process.env.TEACHERSTUDENT_PROTOS || DEFAULT_PROTOS) {
  const definition = protoLoader.loadSync('distill/v1/teacher.proto', {
    includeDirs: [protosDir],
    keepCase: true, // field names as in the .proto: request_id, teacher_version, ...
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true, // a reply's `result` names the field that is set
  });
  return grpc.loadPackageDefinition(definition).distill.v1;
}

/** One reply as { request_id, teacher, teacher_version, cache_hits } plus log_probs, sparse or error. */
function toReply(response) {
  const reply = {
    request_id: response.request_id,
    teacher: response.teacher,
    teacher_version: response.teacher_version,
    cache_hits: response.cache_hits,
    // A request sent by digest: the examples the teacher's cache did not hold (their rows are NaN).
    missing: response.missing || [],
  };
  switch (response.result) {
    case 'log_probs': reply.log_probs = decode(response.log_probs); break;
    case 'sparse_log_probs': {
      const s = response.sparse_log_probs;
      reply.sparse = {
        kind: s.kind === 'SPARSE_KIND_SAMPLED' ? 'sampled' : 'top_k',
        ids: decode(s.ids),
        log_probs: decode(s.log_probs),
        tail_log_mass: s.tail_log_mass ? decode(s.tail_log_mass) : null,
      };
      break;
    }
    case 'error': reply.error = new BatchError(response.request_id, response.error.code, response.error.message); break;
    default: throw new Error(`reply '${response.request_id}' carries no result`);
  }
  // A request sent as texts: the teacher's ids [B, L], each text's length, and the bytes [B, L, 2] every token covers.
  if (response.text_tokens) {
    const t = response.text_tokens;
    reply.text_tokens = { ids: decode(t.ids), lengths: t.lengths.map(Number), byte_spans: decode(t.byte_spans) };
  }
  return reply;
}

/** Whether a failed call is a teacher service saying it is stopping (UNAVAILABLE with that sentence). */
function isStopping(error) {
  return error?.code === grpc.status.UNAVAILABLE && String(error.details ?? '').startsWith(STOPPING_PREFIX);
}

/**
 * How long a call goes on reconnecting while the service is UNAVAILABLE (stopping, restarting,
 * not reachable): up to `budgetSeconds` from the first failure since the last answer, waiting with
 * exponential backoff and jitter; the first retry after a stopping replica goes at once.
 */
class Outage {
  constructor(budgetSeconds, firstSeconds = 0.25, longestSeconds = 4) {
    Object.assign(this, { budgetSeconds, firstSeconds, longestSeconds });
    this.answered();
  }

  answered() {
    this.since = null;
    this.delay = this.firstSeconds;
  }

  /** False when `error` is not UNAVAILABLE or the budget is spent; else waits and returns true. */
  async wait(error) {
    if (error?.code !== grpc.status.UNAVAILABLE) return false;
    const now = Date.now() / 1000;
    const first = this.since === null;
    if (first) this.since = now;
    const left = this.budgetSeconds - (now - this.since);
    if (left <= 0) return false;
    if (!(first && isStopping(error))) {
      const seconds = Math.min(left, this.delay * (0.5 + Math.random()));
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      this.delay = Math.min(this.delay * 2, this.longestSeconds);
    }
    return true;
  }
}

const FINISH_REASONS = { FINISH_REASON_STOP: 'stop', FINISH_REASON_LENGTH: 'length' };

/**
 * One generated sample: sample `sample_index` of prompt `prompt_index` (both 0-based), the
 * continuation only, why it ended ('stop' or 'length'), token counts, and whether it came from
 * the teacher's generation cache.
 */
function toSample(sample, teacherVersion) {
  return {
    prompt_index: sample.prompt_index,
    sample_index: sample.sample_index,
    text: sample.text,
    finish_reason: FINISH_REASONS[sample.finish_reason] ?? 'unspecified',
    prompt_tokens: sample.prompt_tokens,
    completion_tokens: sample.completion_tokens,
    cached: sample.cached,
    teacher_version: teacherVersion,
  };
}

class TeacherClient {
  /**
   * @param {string | string[]} address host:port (plaintext) or https://host:port (TLS with the
   *   system's roots); or several replicas, as an array or separated by commas: calls go to one
   *   until it is UNAVAILABLE (stopping, restarting, unreachable), then to the next
   * @param {{ apiKey?: string, timeoutSeconds?: number, maxMessageBytes?: number, protosDir?: string, retrySeconds?: number }} options
   *   retrySeconds: how long a call goes on reconnecting while the service is UNAVAILABLE, from
   *   the first failure since its last answer (0 = fail at once). Nothing is lost meanwhile: a
   *   stream sends the requests not answered again, and generate asks again for the prompts whose
   *   samples have not all arrived.
   */
  constructor(address, { apiKey, timeoutSeconds = 120, maxMessageBytes = 256 << 20, protosDir, retrySeconds = 120 } = {}) {
    this.Teacher = loadContract(protosDir).Teacher;
    this.replicas = (Array.isArray(address) ? address : address.split(',')).map((a) => a.trim()).filter((a) => a.length > 0);
    if (this.replicas.length === 0) throw new Error('give the address of the teacher service: host:port, or several separated by commas');
    this.stubs = this.replicas.map(() => null);
    this.current = 0;
    this.channelOptions = { 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.max_send_message_length': maxMessageBytes };
    this.apiKey = apiKey;
    this.timeoutSeconds = timeoutSeconds;
    this.retrySeconds = retrySeconds;
  }

  /** The stub of the replica in use, made on first use. */
  get stub() {
    if (this.stubs[this.current] === null) {
      const address = this.replicas[this.current];
      const tls = address.startsWith('https://');
      const target = address.replace(/^https?:\/\//, '');
      this.stubs[this.current] = new this.Teacher(target, tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(), this.channelOptions);
    }
    return this.stubs[this.current];
  }

  nextReplica() {
    this.current = (this.current + 1) % this.replicas.length;
  }

  metadata() {
    const metadata = new grpc.Metadata();
    if (this.apiKey) metadata.set(API_KEY_HEADER, this.apiKey);
    return metadata;
  }

  /** The teachers the service holds (TeacherInfo objects), or the one named. */
  async describe(teacher = '') {
    const outage = new Outage(this.retrySeconds);
    for (;;) {
      const deadline = new Date(Date.now() + this.timeoutSeconds * 1000);
      try {
        return await new Promise((resolve, reject) => {
          this.stub.Describe({ teacher }, this.metadata(), { deadline }, (error, reply) => (error ? reject(error) : resolve(reply.teachers)));
        });
      } catch (error) {
        if (!(await outage.wait(error))) throw error;
        this.nextReplica();
      }
    }
  }

  /**
   * A SoftTargetsRequest: inputs is { values: typed array, shape } — images [B, 1, 28, 28] as
   * Uint8Array (pixels 0..255) or Float32Array (pixels scaled to 0..1), or token ids [B, L] as
   * Uint16Array, Int32Array or BigInt64Array.
   * byDigest (classifiers): send the SHA-256 of each example instead of its bytes; the teacher
   * answers from its cache alone and reply.missing lists the examples it did not hold (NaN rows).
   */
  request(teacher, inputs, temperature, outputDtype = 'float32', { k = 0, sparseKind = 'top_k', seed = 0, tokenizerDigest = '', byDigest = false } = {}) {
    const encoded = encode(inputs.values, inputs.shape);
    let digests = Buffer.alloc(0);
    if (byDigest) {
      const count = inputs.shape[0];
      const size = count > 0 ? encoded.data.length / count : 0;
      digests = Buffer.concat(Array.from({ length: count },
        (_, i) => crypto.createHash('sha256').update(encoded.data.subarray(i * size, (i + 1) * size)).digest()));
      encoded.data = Buffer.alloc(0);
    }
    return {
      teacher,
      temperature,
      output_dtype: outputDtype === 'float16' ? 'DTYPE_FLOAT16' : 'DTYPE_FLOAT32',
      inputs: encoded,
      example_digests: digests,
      k,
      // sparse_kind only means something with k > 0; a classifier refuses it set at all.
      sparse_kind: k > 0 ? (sparseKind === 'sampled' ? 'SPARSE_KIND_SAMPLED' : 'SPARSE_KIND_TOP_K') : 'SPARSE_KIND_UNSPECIFIED',
      seed: String(seed),
      tokenizer_digest: tokenizerDigest,
    };
  }

  /**
   * A SoftTargetsRequest of texts for a language-model teacher, which tokenizes them itself (for a student
   * with another tokenizer): the reply's text_tokens give its ids and the bytes each of them covers.
   */
  textRequest(teacher, texts, temperature, outputDtype = 'float32', { k = 0, sparseKind = 'top_k', seed = 0 } = {}) {
    return {
      teacher,
      temperature,
      output_dtype: outputDtype === 'float16' ? 'DTYPE_FLOAT16' : 'DTYPE_FLOAT32',
      texts: [...texts],
      k,
      sparse_kind: k > 0 ? (sparseKind === 'sampled' ? 'SPARSE_KIND_SAMPLED' : 'SPARSE_KIND_TOP_K') : 'SPARSE_KIND_UNSPECIFIED',
      seed: String(seed),
    };
  }

  /**
   * Sends the requests (an iterable or async iterable) on one SoftTargets stream, up to `window`
   * ahead of the replies, and yields one reply per request, in order. Each request is given the
   * id "1", "2", ... and its reply is matched by that id. A batch the teacher refused yields a
   * reply whose `error` is a BatchError; the stream goes on. A stream that ends UNAVAILABLE (the
   * service stopping or gone) is opened again, on the next replica when there are several, and
   * the requests it did not answer are sent again: each request gets exactly one reply. Any other
   * failure of the whole call (no key), or UNAVAILABLE beyond retrySeconds, is thrown as the
   * grpc-js error (with .code and .details).
   */
  async *softTargets(requests, { window = 8 } = {}) {
    const source = requests[Symbol.asyncIterator] ? requests[Symbol.asyncIterator]() : requests[Symbol.iterator]();
    const pending = []; // sent and not yet answered, in the order sent: the service answers in that order
    let numbered = 0;
    let exhausted = false;
    const outage = new Outage(this.retrySeconds);
    for (;;) {
      const call = this.stub.SoftTargets(this.metadata());
      const arrived = [];
      let failure = null;
      let ended = false;
      let wake = null;
      call.on('data', (response) => { arrived.push(response); wake?.(); });
      call.on('error', (error) => { failure = error; wake?.(); });
      call.on('end', () => { ended = true; wake?.(); });
      for (const request of pending) call.write(request); // what the last stream did not answer, first
      if (exhausted) call.end();

      const sendAhead = async () => {
        while (!exhausted && pending.length < window) {
          const next = await source.next();
          if (next.done) {
            exhausted = true;
            call.end();
            break;
          }
          const request = { ...next.value, request_id: String(++numbered) };
          pending.push(request);
          call.write(request);
        }
      };

      try {
        await sendAhead();
        while (pending.length > 0) {
          if (arrived.length === 0) {
            if (failure) throw failure;
            if (ended) throw new Error('the teacher closed the stream before answering every request');
            await new Promise((resolve) => { wake = resolve; });
            wake = null;
            continue;
          }
          const response = arrived.shift();
          if (response.request_id !== pending[0].request_id) {
            throw new Error(`the teacher answered request '${response.request_id}' where '${pending[0].request_id}' was due`);
          }
          pending.shift();
          outage.answered();
          await sendAhead();
          yield toReply(response);
        }
        return;
      } catch (error) {
        if (error !== failure || !(await outage.wait(error))) throw error;
        this.nextReplica();
      } finally {
        if (!ended) call.cancel();
      }
    }
  }

  /**
   * A GenerateRequest. temperature and topP left undefined (or null) are not sent, which the
   * teacher reads as 1; temperature 0 always takes the most likely token.
   */
  generateRequest(teacher, prompts, { n = 1, maxNewTokens = 0, temperature, topP, stop = [], seed = 0 } = {}) {
    if (typeof prompts === 'string') throw new TypeError('prompts is an array of strings, not one string');
    const request = { teacher, prompts: [...prompts], n, max_new_tokens: maxNewTokens, stop: [...stop], seed: String(seed) };
    if (temperature !== undefined && temperature !== null) request.temperature = temperature;
    if (topP !== undefined && topP !== null) request.top_p = topP;
    return request;
  }

  /**
   * Text from a language-model or black-box teacher: n samples of each prompt, yielded as the
   * teacher finishes them (in any order; prompt_index and sample_index say which is which) as
   * { prompt_index, sample_index, text, finish_reason, prompt_tokens, completion_tokens, cached,
   * teacher_version }. maxNewTokens 0 is the teacher's default; temperature and topP undefined
   * mean 1. The same prompt, settings, seed and sample index always give the same text. The call
   * has the client's deadline; a refused request (no prompts, a setting out of range:
   * INVALID_ARGUMENT; an unknown teacher: NOT_FOUND) or a missing key is thrown as the grpc-js
   * error (with .code and .details). UNAVAILABLE (the service stopping, an upstream failing) is
   * asked again, on the next replica when there are several, for the prompts not yet done, until
   * retrySeconds; each sample is yielded once.
   */
  async *generate(teacher, prompts, options = {}) {
    const request = this.generateRequest(teacher, prompts, options);
    const perPrompt = Math.max(request.n, 1);
    const delivered = new Set(); // "prompt/sample" already yielded
    const outage = new Outage(this.retrySeconds);
    for (;;) {
      // After a failure, the prompts whose samples have not all arrived are asked again.
      const asked = request.prompts.map((_, p) => p)
        .filter((p) => Array.from({ length: perPrompt }, (__, i) => delivered.has(`${p}/${i}`)).filter(Boolean).length < perPrompt);
      if (delivered.size > 0 && asked.length === 0) return;
      const deadline = new Date(Date.now() + this.timeoutSeconds * 1000);
      const call = this.stub.Generate({ ...request, prompts: asked.map((p) => request.prompts[p]) }, this.metadata(), { deadline });
      try {
        for await (const response of call) {
          for (const sample of response.samples) {
            const prompt = asked[sample.prompt_index];
            const key = `${prompt}/${sample.sample_index}`;
            if (delivered.has(key)) continue;
            delivered.add(key);
            outage.answered();
            yield toSample({ ...sample, prompt_index: prompt }, response.teacher_version);
          }
        }
        return;
      } catch (error) {
        if (!(await outage.wait(error))) throw error;
        this.nextReplica();
      } finally {
        call.cancel(); // a caller that stops early frees the teacher's work; a no-op once the call is over
      }
    }
  }

  close() {
    for (const stub of this.stubs) stub?.close();
  }
}

module.exports = { TeacherClient, BatchError, loadContract, isStopping, CODE_NAMES, STOPPING_PREFIX };
