"""GenerateRequests as they go on the wire: settings in one-field oneofs stay unset unless given."""

import unittest

from teacherstudent_client import TeacherClient
from teacherstudent_client.client import pb2


class GenerateRequestTests(unittest.TestCase):
    def setUp(self):
        self.client = TeacherClient("127.0.0.1:1")  # never called: the channel connects lazily

    def tearDown(self):
        self.client.close()

    def test_temperature_and_top_p_not_given_are_not_on_the_wire(self):
        request = self.client.generate_request("lm", ["Once"])
        back = pb2.GenerateRequest.FromString(request.SerializeToString())

        self.assertFalse(back.HasField("temperature"))
        self.assertFalse(back.HasField("top_p"))

    def test_temperature_zero_is_sent_as_zero_and_not_left_unset(self):
        request = self.client.generate_request("lm", ["Once"], temperature=0.0, top_p=0.5)
        back = pb2.GenerateRequest.FromString(request.SerializeToString())

        self.assertTrue(back.HasField("temperature"))
        self.assertEqual(back.temperature, 0.0)
        self.assertTrue(back.HasField("top_p"))
        self.assertEqual(back.top_p, 0.5)

    def test_every_setting_is_carried(self):
        request = self.client.generate_request("lm", ["a", "b"], n=3, max_new_tokens=7, stop=["\n", "."], seed=-5)

        self.assertEqual((request.teacher, list(request.prompts), request.n, request.max_new_tokens), ("lm", ["a", "b"], 3, 7))
        self.assertEqual((list(request.stop), request.seed), (["\n", "."], -5))

    def test_one_string_is_not_taken_for_a_list_of_prompts(self):
        with self.assertRaises(TypeError):
            self.client.generate_request("lm", "Once")


if __name__ == "__main__":
    unittest.main()
