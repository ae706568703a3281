"""A replica that stops: the client goes on with the next one, sends again what was not answered,
and gives each request exactly one reply and each sample exactly once. The replicas are small
grpc servers in this process that answer like the teacher service and stop like it."""

import threading
import unittest
from concurrent import futures

import grpc
import numpy as np

from teacherstudent_client import TeacherClient
from teacherstudent_client.client import STOPPING_PREFIX, pb2, pb2_grpc


class Replica(pb2_grpc.TeacherServicer):
    """Answers each request with its own input as log-probs; after `answers` replies (None: never)
    ends the call with UNAVAILABLE, as a stopping teacher service does."""

    def __init__(self, answers=None):
        self.answers = answers
        self.answered = []  # request ids answered, or (prompt, sample index) written
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb2_grpc.add_TeacherServicer_to_server(self, self.server)
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def _stopping(self):
        with self.lock:
            return self.answers is not None and len(self.answered) >= self.answers

    def SoftTargets(self, request_iterator, context):
        for request in request_iterator:
            if self._stopping():
                context.abort(grpc.StatusCode.UNAVAILABLE, f"{STOPPING_PREFIX}: send the rest again.")
            with self.lock:
                self.answered.append(request.request_id)
            yield pb2.SoftTargetsResponse(request_id=request.request_id, teacher=request.teacher, log_probs=request.inputs)

    def Generate(self, request, context):
        for p, prompt in enumerate(request.prompts):
            for i in range(request.n):
                if self._stopping():
                    context.abort(grpc.StatusCode.UNAVAILABLE, f"{STOPPING_PREFIX}: call again.")
                with self.lock:
                    self.answered.append((prompt, i))
                yield pb2.GenerateResponse(teacher=request.teacher, samples=[
                    pb2.GeneratedSample(prompt_index=p, sample_index=i, text=f"{prompt}/{i}")])

    def stop(self):
        self.server.stop(None)


class ReconnectTests(unittest.TestCase):
    def setUp(self):
        self.stopping = Replica(answers=5)
        self.other = Replica()
        self.client = TeacherClient(f"{self.stopping.address},{self.other.address}", retry_seconds=30)

    def tearDown(self):
        self.client.close()
        self.stopping.stop()
        self.other.stop()

    def test_a_stream_whose_replica_stops_goes_on_with_the_next_and_each_request_gets_one_reply(self):
        requests = (self.client.request("fashion", np.full((1, 1), i, dtype=np.float32), 1.0) for i in range(40))

        replies = list(self.client.soft_targets(requests, window=8))

        self.assertEqual([r.request_id for r in replies], [str(i) for i in range(1, 41)])
        self.assertEqual([float(r.log_probs[0, 0]) for r in replies], [float(i) for i in range(40)])
        self.assertEqual(self.stopping.answered, [str(i) for i in range(1, 6)])
        # Over both replicas, every request answered exactly once.
        self.assertEqual(sorted(self.stopping.answered + self.other.answered, key=int), [str(i) for i in range(1, 41)])

    def test_a_generate_call_whose_replica_stops_is_finished_by_the_next_and_each_sample_comes_once(self):
        prompts = ["a", "b", "c", "d"]

        samples = list(self.client.generate("lm", prompts, n=3))

        self.assertEqual(sorted((s.prompt_index, s.sample_index) for s in samples), [(p, i) for p in range(4) for i in range(3)])
        self.assertTrue(all(s.text == f"{prompts[s.prompt_index]}/{s.sample_index}" for s in samples))
        self.assertEqual(len(self.stopping.answered), 5)
        # Prompts the stopping replica finished (the first) are not asked again.
        self.assertNotIn(("a", 0), self.other.answered)

    def test_with_no_retry_time_an_unreachable_service_fails_at_once(self):
        self.stopping.stop()
        client = TeacherClient(self.stopping.address, retry_seconds=0)
        try:
            with self.assertRaises(grpc.RpcError) as raised:
                list(client.soft_targets([client.request("fashion", np.zeros((1, 1), dtype=np.float32), 1.0)]))
            self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
