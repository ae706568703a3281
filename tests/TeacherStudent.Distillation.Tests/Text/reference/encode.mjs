// Encodes texts with @huggingface/tokenizers, the pure-JS implementation transformers.js uses.
// Usage: node encode.mjs MODEL_DIR < texts.jsonl  (MODEL_DIR holds tokenizer.json and tokenizer_config.json)
// Reads one JSON string per line on stdin; writes {"ids":[...],"tokens":[...]} per line on stdout.
// Hugging Face's defaults: special tokens written in the text become their ids, and the file's
// post-processor adds what it adds (add_special_tokens=true: <s> first for Llama 2, nothing for these Qwen3 and Llama 3 files).
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

const directory = process.argv[2];
const read = (name) => JSON.parse(fs.readFileSync(path.join(directory, name), "utf8"));
const tokenizer = new Tokenizer(read("tokenizer.json"), read("tokenizer_config.json"));

const out = [];
for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.length === 0) continue;
  const text = JSON.parse(line);
  const encoding = tokenizer.encode(text);
  out.push(JSON.stringify({ ids: encoding.ids, tokens: encoding.tokens }));
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
