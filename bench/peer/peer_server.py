"""A peer of the teacher service for ./bench.sh: what a team would write in Python instead of running
the service. It answers the same contract (protos/distill/v1: Describe, and the SoftTargets stream
for a classifier) with grpcio's asyncio server and Debian's torch, one dynamic batcher in front of one
model: examples from every open stream are queued, and one forward at a time (in a thread, on all
cores) takes up to --max-batch examples or what came within --max-delay-ms of the oldest one. It
loads a classifier as `train` exports it (model.safetensors + model.json; bench.sh writes that export
from the demo's ConvNet checkpoint).

Not Triton, not vLLM, not TorchServe: no cache, no copies of the model, no API key, no health service;
nothing but the soft-target path. Run with Debian's Python (/usr/bin/python3), which sees
python3-grpcio, python3-grpc-tools, python3-protobuf and python3-torch.

    /usr/bin/python3 bench/peer/peer_server.py --model artifacts/demo/teacher --port 5007
"""
import argparse
import asyncio
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import torch

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0  # the contract's range (Describe's limits)
FLOAT32, FLOAT16, UINT8 = 1, 2, 6  # distill.v1.DType values this peer reads or writes
INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED = 3, 5, 8  # google.rpc.Code values of a BatchError

_SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def load_safetensors(path):
    """A safetensors file's tensors by name: an 8-byte little-endian header length, a JSON header
    (dtype, shape, data_offsets), then the bytes (the `safetensors` package is not in Debian)."""
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header, start = json.loads(data[8:8 + length]), 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(data[start + begin:start + end]), dtype=_SAFETENSORS_DTYPES[info["dtype"]])
        tensors[name] = flat.reshape(info["shape"])
    return tensors


@dataclass
class Classifier:
    """The exported classifier, in eval mode, with what its model.json says about its inputs."""
    model: torch.nn.Module
    spec: dict
    version: str  # digest of the weights' bytes, as the service's version is of its checkpoint's
    mean: torch.Tensor = field(init=False)
    std: torch.Tensor = field(init=False)

    def __post_init__(self):
        self.mean = torch.tensor(self.spec["normalization"]["mean"]).view(-1, 1, 1)
        self.std = torch.tensor(self.spec["normalization"]["std"]).view(-1, 1, 1)

    @property
    def example_shape(self):
        return list(self.spec["input"]["shape"])

    @staticmethod
    def load(directory):
        from teacherstudent_client.classifiers import ARCHITECTURES  # the project's modules, under its parameter names

        with open(os.path.join(directory, "model.json")) as f:
            spec = json.load(f)
        weights = os.path.join(directory, "model.safetensors")
        model = ARCHITECTURES[spec["architecture"]](spec)
        model.load_state_dict(load_safetensors(weights))
        with open(weights, "rb") as f:
            version = hashlib.sha256(f.read()).hexdigest()[:16]
        return Classifier(model.eval(), spec, version)


@dataclass
class Queued:
    """One request's examples waiting for a forward."""
    pixels: bytes
    dtype: int  # UINT8 (0..255) or FLOAT32 (0..1)
    count: int
    temperature: float
    output_dtype: int
    arrived: float  # the event loop's clock when it was queued
    answer: asyncio.Future  # the request's log-probs as wire bytes


class DynamicBatcher:
    """One queue for every stream; one forward at a time, of up to max_batch examples or what
    arrived within max_delay of the oldest queued request, run in a thread so the event loop keeps
    reading and writing streams meanwhile. Requests are kept whole."""

    def __init__(self, classifier, max_batch, max_delay, threads):
        self.classifier = classifier
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.queue = asyncio.Queue()
        # torch's thread count is per thread: set it in the thread that runs the forwards.
        self.executor = ThreadPoolExecutor(max_workers=1, initializer=torch.set_num_threads, initargs=(threads,))

    def submit(self, pixels, dtype, count, temperature, output_dtype):
        loop = asyncio.get_running_loop()
        item = Queued(pixels, dtype, count, temperature, output_dtype, loop.time(), loop.create_future())
        self.queue.put_nowait(item)
        return item.answer

    async def run(self):
        loop = asyncio.get_running_loop()
        carried = None
        while True:
            first = carried or await self.queue.get()
            carried, batch, size = None, [first], first.count
            while size < self.max_batch:
                left = first.arrived + self.max_delay - loop.time()
                try:
                    item = self.queue.get_nowait() if not self.queue.empty() or left <= 0 else \
                        await asyncio.wait_for(self.queue.get(), left)
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
                if size + item.count > self.max_batch:
                    carried = item  # first of the next forward
                    break
                batch.append(item)
                size += item.count
            try:
                answers = await loop.run_in_executor(self.executor, self.forward, batch)
            except Exception as e:  # a forward that failed fails its requests, not the server
                answers = [e] * len(batch)
            for item, answer in zip(batch, answers):
                if item.answer.done():
                    continue  # its stream went away
                if isinstance(answer, Exception):
                    item.answer.set_exception(answer)
                else:
                    item.answer.set_result(answer)

    def forward(self, batch):
        """log_softmax(model(x) / T) for every request of the batch, each at its own T, as wire bytes."""
        c = self.classifier
        shape = c.example_shape
        with torch.inference_mode():
            parts = []
            for item in batch:
                if item.dtype == UINT8:
                    parts.append(torch.frombuffer(bytearray(item.pixels), dtype=torch.uint8).view(item.count, *shape).float().div_(255))
                else:
                    parts.append(torch.frombuffer(bytearray(item.pixels), dtype=torch.float32).view(item.count, *shape))
            x = (torch.cat(parts) - c.mean) / c.std
            temperatures = torch.cat([torch.full((item.count, 1), item.temperature) for item in batch])
            log_probs = torch.log_softmax(c.model(x) / temperatures, dim=1)
            answers, row = [], 0
            for item in batch:
                rows = log_probs[row:row + item.count]
                row += item.count
                answers.append((rows.half() if item.output_dtype == FLOAT16 else rows).numpy().tobytes())
            return answers


class Peer:
    """The Teacher service's Describe and SoftTargets for one classifier."""

    def __init__(self, pb2, name, classifier, batcher):
        self.pb2, self.name, self.classifier, self.batcher = pb2, name, classifier, batcher

    async def Describe(self, request, context):
        pb2, c = self.pb2, self.classifier
        if request.teacher and request.teacher != self.name:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"there is no teacher named '{request.teacher}'; this peer holds '{self.name}'.")
        info = pb2.TeacherInfo(
            name=self.name, version=c.version, task=pb2.TEACHER_TASK_CLASSIFIER, num_outputs=len(c.spec["class_names"]),
            device="cpu", architecture=c.spec["architecture"],
            input=pb2.InputSpec(dtypes=[FLOAT32, UINT8], example_shape=c.example_shape, class_names=c.spec["class_names"],
                                float_min=0, float_max=1),
            limits=pb2.Limits(max_batch=self.batcher.max_batch, min_temperature=MIN_TEMPERATURE, max_temperature=MAX_TEMPERATURE))
        return pb2.DescribeResponse(teachers=[info])

    async def SoftTargets(self, request_iterator, context):
        # Requests are read (and queued for the batcher) as they come; answers are written in the
        # order the requests were sent, each as soon as it and every one before it is ready.
        pending = asyncio.Queue()

        async def read():
            try:
                while (request := await context.read()) is not grpc.aio.EOF:
                    error = self.check(request)
                    answer = None if error else self.batcher.submit(
                        request.inputs.data, request.inputs.dtype, request.inputs.shape[0], request.temperature,
                        request.output_dtype or FLOAT32)
                    pending.put_nowait((request, error, answer))
            finally:
                pending.put_nowait(None)

        reader = asyncio.ensure_future(read())
        try:
            while (entry := await pending.get()) is not None:
                await context.write(await self.respond(*entry))
            await reader  # a failed read fails the call
        finally:
            reader.cancel()

    async def respond(self, request, error, answer):
        pb2 = self.pb2
        reply = pb2.SoftTargetsResponse(request_id=request.request_id, teacher=request.teacher, teacher_version=self.classifier.version)
        if error is None:
            try:
                data = await answer
            except Exception as e:
                error = (13, f"the forward failed: {e}")  # INTERNAL
        if error is not None:
            reply.error.CopyFrom(pb2.BatchError(code=error[0], message=error[1]))
            return reply
        dtype = request.output_dtype or FLOAT32
        reply.log_probs.CopyFrom(pb2.Tensor(shape=[request.inputs.shape[0], len(self.classifier.spec["class_names"])], dtype=dtype, data=data))
        return reply

    async def Generate(self, request, context):
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this peer serves a classifier's soft targets only.")

    def check(self, request):
        """(code, message) of what is wrong with a request, or None."""
        shape = self.classifier.example_shape
        if request.teacher != self.name:
            return NOT_FOUND, f"there is no teacher named '{request.teacher}'; this peer holds '{self.name}'."
        if request.k or request.sparse_kind or request.seed or request.tokenizer_digest:
            return INVALID_ARGUMENT, "k, sparse_kind, seed and tokenizer_digest are for language models; this teacher is a classifier."
        if request.example_digests:
            return INVALID_ARGUMENT, "this peer keeps no cache: send the examples' bytes, not their digests."
        inputs = request.inputs
        if inputs.dtype not in (UINT8, FLOAT32):
            return INVALID_ARGUMENT, "send uint8 pixels (0..255) or float32 pixels (0..1)."
        if len(inputs.shape) != len(shape) + 1 or list(inputs.shape[1:]) != shape or inputs.shape[0] < 1:
            return INVALID_ARGUMENT, f"input shape {list(inputs.shape)} does not match [B, {', '.join(map(str, shape))}] with B >= 1."
        if inputs.shape[0] > self.batcher.max_batch:
            return RESOURCE_EXHAUSTED, f"the batch has {inputs.shape[0]} examples; this peer takes at most {self.batcher.max_batch}."
        count = inputs.shape[0] * (4 if inputs.dtype == FLOAT32 else 1)
        for d in shape:
            count *= d
        if len(inputs.data) != count:
            return INVALID_ARGUMENT, f"the inputs carry {len(inputs.data)} bytes; their shape and dtype need {count}."
        if inputs.dtype == FLOAT32:
            values = torch.frombuffer(bytearray(inputs.data), dtype=torch.float32)
            if not bool(((values >= 0) & (values <= 1)).all()):
                return INVALID_ARGUMENT, "float32 inputs are pixels scaled to 0..1; a value lies outside."
        if not MIN_TEMPERATURE <= request.temperature <= MAX_TEMPERATURE:
            return INVALID_ARGUMENT, f"temperature {request.temperature} is outside {MIN_TEMPERATURE} to {MAX_TEMPERATURE}."
        if request.output_dtype not in (0, FLOAT32, FLOAT16):
            return INVALID_ARGUMENT, "ask for float32 (the default) or float16 log-probs."
        return None


def blas():
    """The BLAS library this process loaded (Debian's torch takes whichever libblas.so.3 the system points to)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
    return ", ".join(sorted(os.path.realpath(p) for p in paths)) or "none loaded"


async def serve(args):
    sys.path.insert(0, str(CLIENT))
    from teacherstudent_client import stubs  # generates the stubs from protos/ into TEACHERSTUDENT_STUBS_DIR

    pb2, pb2_grpc = stubs.load()
    torch.set_num_threads(args.threads)
    classifier = Classifier.load(args.model)
    batcher = DynamicBatcher(classifier, args.max_batch, args.max_delay_ms / 1000, args.threads)
    limit = 64 << 20  # as the service's: a batch of up to 65536 images fits
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)])
    pb2_grpc.add_TeacherServicer_to_server(Peer(pb2, args.name, classifier, batcher), server)
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    await server.start()
    batching = asyncio.ensure_future(batcher.run())
    # What the forwards' thread really runs with (torch's thread count is per thread).
    threads = await asyncio.get_running_loop().run_in_executor(batcher.executor, torch.get_num_threads)
    print(f"peer listening on http://{args.host}:{port} (teacher '{args.name}' {classifier.version}, "
          f"{threads} torch threads in the forward, batches of up to {args.max_batch} or {args.max_delay_ms} ms, BLAS {blas()})", flush=True)
    try:
        await server.wait_for_termination()
    finally:
        batching.cancel()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="folder holding model.safetensors and model.json")
    parser.add_argument("--name", default="fashion", help="the teacher's name in requests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 takes a free port (printed when listening)")
    parser.add_argument("--max-batch", type=int, default=256, help="most examples in one forward")
    parser.add_argument("--max-delay-ms", type=float, default=2.0, help="longest wait for a forward to fill")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads of the forward (all cores)")
    parser.add_argument("--stubs-dir", help="where the gRPC stubs are generated (default: a temporary folder)")
    args = parser.parse_args()
    temporary = None if args.stubs_dir else tempfile.mkdtemp(prefix="peer-stubs-")
    os.environ["TEACHERSTUDENT_STUBS_DIR"] = args.stubs_dir or temporary
    try:
        asyncio.run(serve(args))
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


if __name__ == "__main__":
    main()
