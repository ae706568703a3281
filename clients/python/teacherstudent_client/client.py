"""A client of the TeacherStudent teacher service: Describe, the SoftTargets stream and Generate."""

import collections
import hashlib
import itertools
import queue
import random
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, Sequence, Union

import grpc
import numpy as np

from . import stubs, tensors

pb2, pb2_grpc = stubs.load()

API_KEY_HEADER = "x-api-key"

# How every status of a teacher service that is stopping (a rolling update) begins: it answered
# what it had read, and the rest is sent again, to another replica if there is one.
STOPPING_PREFIX = "the teacher service is stopping"

# google.rpc.Code names of the codes a BatchError carries.
CODE_NAMES = {0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
              6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
              10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
              15: "DATA_LOSS", 16: "UNAUTHENTICATED"}


class BatchError(Exception):
    """The teacher answered one batch with an error; the stream goes on."""

    def __init__(self, request_id: str, code: int, message: str):
        super().__init__(f"{CODE_NAMES.get(code, code)} ({code}): {message}")
        self.request_id = request_id
        self.code = code
        self.code_name = CODE_NAMES.get(code, str(code))
        self.message = message


@dataclass
class SparseTargets:
    """k tokens per position of a language model: ids and log-probs [B, L, k], tail_log_mass [B, L] (top-k only)."""
    kind: str
    ids: np.ndarray
    log_probs: np.ndarray
    tail_log_mass: Optional[np.ndarray]


@dataclass
class TextTokens:
    """The teacher's tokens of a request sent as texts: ids [B, L] (padded after each text's length),
    lengths [B], and byte_spans [B, L, 2]: token j of text b covers bytes [start, end) of its UTF-8."""
    ids: np.ndarray
    lengths: list
    byte_spans: np.ndarray


@dataclass
class Reply:
    """The answer to one request: dense log_probs, sparse targets, or an error."""
    request_id: str
    teacher: str
    teacher_version: str
    cache_hits: int
    log_probs: Optional[np.ndarray] = None
    sparse: Optional[SparseTargets] = None
    error: Optional[BatchError] = None
    # A request sent by digest: the examples the teacher's cache did not hold (their rows are NaN).
    missing: list = field(default_factory=list)
    # A request sent as texts: the teacher's tokens of them, which the targets' positions follow.
    text_tokens: Optional[TextTokens] = None

    def check(self) -> "Reply":
        """This reply, or its BatchError raised."""
        if self.error is not None:
            raise self.error
        return self


@dataclass
class GeneratedSample:
    """One sample of a Generate call: sample `sample_index` of prompt `prompt_index` (both 0-based).

    text is the continuation only (no prompt, no stop sequence); finish_reason is "stop" (the
    teacher ended the text or wrote a stop sequence) or "length" (max_new_tokens was reached);
    cached says it came from the teacher's generation cache.
    """
    prompt_index: int
    sample_index: int
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    teacher_version: str


FINISH_REASONS = {0: "unspecified", 1: "stop", 2: "length"}


def is_stopping(error: grpc.RpcError) -> bool:
    """Whether a failed call is a teacher service saying it is stopping (UNAVAILABLE with that sentence)."""
    return error.code() == grpc.StatusCode.UNAVAILABLE and (error.details() or "").startswith(STOPPING_PREFIX)


class _Outage:
    """How long a call goes on reconnecting while the service is UNAVAILABLE (stopping, restarting,
    not reachable): up to `budget` seconds from the first failure since the last answer, waiting
    with exponential backoff and jitter; the first retry after a stopping replica goes at once."""

    def __init__(self, budget: float, first: float = 0.25, longest: float = 4.0):
        self._budget, self._first, self._longest = budget, first, longest
        self._since: Optional[float] = None
        self._delay = first

    def answered(self):
        self._since, self._delay = None, self._first

    def wait(self, error: grpc.RpcError) -> bool:
        """False when `error` is not UNAVAILABLE or the budget is spent; else waits and returns True."""
        if error.code() != grpc.StatusCode.UNAVAILABLE:
            return False
        now = time.monotonic()
        first = self._since is None
        if first:
            self._since = now
        left = self._budget - (now - self._since)
        if left <= 0:
            return False
        if not (first and is_stopping(error)):
            time.sleep(min(left, self._delay * random.uniform(0.5, 1.5)))
            self._delay = min(self._delay * 2, self._longest)
        return True


class _Outgoing:
    """The requests of one SoftTargets call, as grpc's sending thread takes them; close() ends them."""

    _END = object()

    def __init__(self):
        self._queue = queue.SimpleQueue()

    def put(self, request):
        self._queue.put(request)

    def close(self):
        self._queue.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        request = self._queue.get()
        if request is self._END:
            self._queue.put(self._END)  # a second look ends too
            raise StopIteration
        return request


def _reply(response) -> Reply:
    reply = Reply(response.request_id, response.teacher, response.teacher_version, response.cache_hits,
                  missing=list(response.missing))
    which = response.WhichOneof("result")
    if which == "log_probs":
        reply.log_probs = tensors.decode(response.log_probs)
    elif which == "sparse_log_probs":
        s = response.sparse_log_probs
        kind = "sampled" if s.kind == pb2.SPARSE_KIND_SAMPLED else "top_k"
        tail = tensors.decode(s.tail_log_mass) if s.HasField("tail_log_mass") else None
        reply.sparse = SparseTargets(kind, tensors.decode(s.ids), tensors.decode(s.log_probs), tail)
    elif which == "error":
        reply.error = BatchError(response.request_id, response.error.code, response.error.message)
    else:
        raise RuntimeError(f"reply '{response.request_id}' carries no result")
    if response.HasField("text_tokens"):
        t = response.text_tokens
        reply.text_tokens = TextTokens(tensors.decode(t.ids), list(t.lengths), tensors.decode(t.byte_spans))
    return reply


class TeacherClient:
    """Channels to a teacher service, or to its replicas.

    address: "host:port" (plaintext) or "https://host:port" (TLS with the system's roots); or
    several replicas, as a list or separated by commas: calls go to one until it is UNAVAILABLE
    (stopping, restarting, unreachable), then to the next.
    api_key: sent in the x-api-key metadata header of every call when given.
    retry_seconds: how long a call goes on reconnecting while the service is UNAVAILABLE, from
    the first failure since its last answer (0 = fail at once). Nothing is lost meanwhile: a
    stream sends the requests not answered again, and Generate asks again for the prompts whose
    samples have not all arrived (the teacher's cache answers the rest when replicas share it).
    """

    def __init__(self, address: Union[str, Sequence[str]], api_key: Optional[str] = None, *, timeout: float = 120,
                 max_message_bytes: int = 256 << 20, retry_seconds: float = 120):
        self._options = [("grpc.max_receive_message_length", max_message_bytes),
                         ("grpc.max_send_message_length", max_message_bytes)]
        replicas = address.split(",") if isinstance(address, str) else list(address)
        self._replicas = [r.strip() for r in replicas if r.strip()]
        if not self._replicas:
            raise ValueError("give the address of the teacher service: host:port, or several separated by commas")
        self._channels = [None] * len(self._replicas)
        self._current = 0
        self._metadata = ((API_KEY_HEADER, api_key),) if api_key else ()
        self._timeout = timeout
        self._retry_seconds = retry_seconds

    @property
    def _stub(self):
        """The stub of the replica in use, its channel opened on first use."""
        if self._channels[self._current] is None:
            address = self._replicas[self._current]
            if address.startswith("https://"):
                channel = grpc.secure_channel(address[len("https://"):], grpc.ssl_channel_credentials(), self._options)
            else:
                target = address[len("http://"):] if address.startswith("http://") else address
                channel = grpc.insecure_channel(target, self._options)
            self._channels[self._current] = (channel, pb2_grpc.TeacherStub(channel))
        return self._channels[self._current][1]

    def _next_replica(self):
        self._current = (self._current + 1) % len(self._replicas)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for opened in self._channels:
            if opened is not None:
                opened[0].close()

    def describe(self, teacher: str = "") -> list:
        """The teachers the service holds (distill.v1.TeacherInfo messages), or the one named."""
        outage = _Outage(self._retry_seconds)
        while True:
            try:
                reply = self._stub.Describe(pb2.DescribeRequest(teacher=teacher), metadata=self._metadata, timeout=self._timeout)
                return list(reply.teachers)
            except grpc.RpcError as error:
                if not outage.wait(error):
                    raise
                self._next_replica()

    def request(self, teacher: str, inputs: np.ndarray, temperature: float, output_dtype: str = "float32", *,
                k: int = 0, sparse_kind: str = "top_k", seed: int = 0, tokenizer_digest: str = "",
                by_digest: bool = False):
        """A SoftTargetsRequest: images [B, 1, 28, 28] (uint8 pixels 0..255, or float32 scaled to 0..1) or token ids [B, L] (uint16, int32, int64).

        by_digest (classifiers): send the SHA-256 of each example instead of its bytes. The teacher
        answers from its cache alone; reply.missing lists the examples it did not hold (NaN rows),
        to be sent again with their bytes."""
        encoded = tensors.encode(inputs, pb2.Tensor)
        digests = b""
        if by_digest:
            count = encoded.shape[0]
            size = len(encoded.data) // count if count else 0
            digests = b"".join(hashlib.sha256(encoded.data[i * size:(i + 1) * size]).digest() for i in range(count))
            encoded.data = b""
        # sparse_kind only means something with k > 0; a classifier refuses it set at all.
        kind = pb2.SPARSE_KIND_UNSPECIFIED
        if k > 0:
            kind = pb2.SPARSE_KIND_SAMPLED if sparse_kind == "sampled" else pb2.SPARSE_KIND_TOP_K
        return pb2.SoftTargetsRequest(
            teacher=teacher, temperature=temperature, output_dtype=tensors.NAMES[output_dtype],
            inputs=encoded, k=k, sparse_kind=kind,
            seed=seed, tokenizer_digest=tokenizer_digest, example_digests=digests)

    def text_request(self, teacher: str, texts: Sequence[str], temperature: float, output_dtype: str = "float32", *,
                     k: int = 0, sparse_kind: str = "top_k", seed: int = 0):
        """A SoftTargetsRequest of texts for a language-model teacher, which tokenizes them itself (for a
        student with another tokenizer): the reply's text_tokens give its ids and the bytes each covers."""
        kind = pb2.SPARSE_KIND_UNSPECIFIED
        if k > 0:
            kind = pb2.SPARSE_KIND_SAMPLED if sparse_kind == "sampled" else pb2.SPARSE_KIND_TOP_K
        return pb2.SoftTargetsRequest(teacher=teacher, temperature=temperature, output_dtype=tensors.NAMES[output_dtype],
                                      texts=list(texts), k=k, sparse_kind=kind, seed=seed)

    def soft_targets(self, requests: Iterable, window: int = 8) -> Iterator[Reply]:
        """Sends the requests on one SoftTargets stream, up to `window` ahead of the replies, and
        yields a Reply per request, in order. Each request is given the id "1", "2", ... and its
        reply is matched by that id. A batch the teacher refused yields a Reply whose error is set
        (reply.check() raises it); the stream goes on. A stream that ends UNAVAILABLE (the service
        stopping or gone) is opened again, on the next replica when there are several, and the
        requests it did not answer are sent again: each request gets exactly one reply. Any other
        failure of the whole call (no key), or UNAVAILABLE beyond retry_seconds, raises grpc.RpcError."""
        source = iter(requests)
        pending = collections.deque()  # sent and not yet answered, in the order sent: the service answers in that order
        numbering = itertools.count(1)
        exhausted = False
        outage = _Outage(self._retry_seconds)
        while True:
            outgoing = _Outgoing()
            for request in pending:
                outgoing.put(request)  # what the last stream did not answer, first
            if exhausted:
                outgoing.close()
            call = self._stub.SoftTargets(outgoing, metadata=self._metadata)
            try:
                while pending or not exhausted:
                    while not exhausted and len(pending) < window:
                        request = next(source, None)
                        if request is None:
                            exhausted = True
                            outgoing.close()
                        else:
                            request.request_id = str(next(numbering))
                            pending.append(request)
                            outgoing.put(request)
                    if not pending:
                        break
                    response = next(call, None)
                    if response is None:
                        raise RuntimeError("the teacher closed the stream before answering every request")
                    if response.request_id != pending[0].request_id:
                        raise RuntimeError(f"the teacher answered request '{response.request_id}' where '{pending[0].request_id}' was due")
                    pending.popleft()
                    outage.answered()
                    yield _reply(response)
                return
            except grpc.RpcError as error:
                if not outage.wait(error):
                    raise
                self._next_replica()
            finally:
                outgoing.close()
                call.cancel()

    def generate_request(self, teacher: str, prompts: Sequence[str], n: int = 1, max_new_tokens: int = 0,
                         temperature: Optional[float] = None, top_p: Optional[float] = None,
                         stop: Sequence[str] = (), seed: int = 0):
        """A GenerateRequest. temperature and top_p left None are left unset on the wire, which the
        teacher reads as 1; temperature 0 always takes the most likely token."""
        if isinstance(prompts, str):
            raise TypeError("prompts is a list of strings, not one string")
        request = pb2.GenerateRequest(teacher=teacher, prompts=list(prompts), n=n, max_new_tokens=max_new_tokens,
                                      stop=list(stop), seed=seed)
        # A one-field oneof: only a value the caller gave is sent, so that "unset" stays unset.
        if temperature is not None:
            request.temperature = temperature
        if top_p is not None:
            request.top_p = top_p
        return request

    def generate(self, teacher: str, prompts: Sequence[str], n: int = 1, max_new_tokens: int = 0,
                 temperature: Optional[float] = None, top_p: Optional[float] = None,
                 stop: Sequence[str] = (), seed: int = 0) -> Iterator[GeneratedSample]:
        """Text from a language-model or black-box teacher: n samples of each prompt, yielded as the
        teacher finishes them (in any order; prompt_index and sample_index say which is which).
        max_new_tokens 0 is the teacher's default; temperature and top_p None mean 1. The same
        prompt, settings, seed and sample index always give the same text. The call has the
        client's timeout; a refused request (no prompts, a setting out of range: INVALID_ARGUMENT;
        an unknown teacher: NOT_FOUND) or a missing key raises grpc.RpcError with that status and
        the teacher's message. UNAVAILABLE (the service stopping, an upstream failing) is asked
        again, on the next replica when there are several, for the prompts not yet done, until
        retry_seconds; each sample is yielded once."""
        request = self.generate_request(teacher, prompts, n, max_new_tokens, temperature, top_p, stop, seed)
        per_prompt = max(n, 1)
        delivered = set()  # (prompt_index, sample_index) already yielded
        outage = _Outage(self._retry_seconds)
        while True:
            # After a failure, the prompts whose samples have not all arrived are asked again.
            asked = [p for p in range(len(request.prompts))
                     if sum((p, i) in delivered for i in range(per_prompt)) < per_prompt]
            if delivered and not asked:
                return
            attempt = pb2.GenerateRequest()
            attempt.CopyFrom(request)
            del attempt.prompts[:]
            attempt.prompts.extend(request.prompts[p] for p in asked)
            call = self._stub.Generate(attempt, metadata=self._metadata, timeout=self._timeout)
            try:
                for response in call:
                    for s in response.samples:
                        key = (asked[s.prompt_index], s.sample_index)
                        if key in delivered:
                            continue
                        delivered.add(key)
                        outage.answered()
                        yield GeneratedSample(key[0], s.sample_index, s.text, FINISH_REASONS.get(s.finish_reason, "unspecified"),
                                              s.prompt_tokens, s.completion_tokens, s.cached, response.teacher_version)
                return
            except grpc.RpcError as error:
                if not outage.wait(error):
                    raise
                self._next_replica()
            finally:
                call.cancel()  # a caller that stops early frees the teacher's work; a no-op once the call is over

    def soft_targets_for_images(self, images: np.ndarray, teacher: str = "fashion", temperature: float = 4.0,
                                batch_size: int = 256, output_dtype: str = "float32", window: int = 8) -> tuple:
        """Log-probs at temperature T for every image, [N, C], and the teacher versions that answered.
        Raises BatchError for a refused batch."""
        batches = (self.request(teacher, images[i:i + batch_size], temperature, output_dtype)
                   for i in range(0, len(images), batch_size))
        parts, versions = [], []
        for reply in self.soft_targets(batches, window):
            parts.append(reply.check().log_probs)
            if reply.teacher_version not in versions:
                versions.append(reply.teacher_version)
        return np.concatenate(parts), versions
