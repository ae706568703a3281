// Encodes texts with @huggingface/tokenizers, the pure-JS implementation transformers.js uses.
// Usage: node encode.mjs MODEL_DIR < texts.jsonl  (MODEL_DIR holds tokenizer.json and tokenizer_config.json)
// Reads one JSON string per line on stdin; writes {"ids":[...],"tokens":[...]} per line on stdout.
// No special tokens are added around the text (the C# side adds none either); special tokens
// written in the text still become their ids, as Hugging Face does by default.
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
  const encoding = tokenizer.encode(text, { add_special_tokens: false });
  out.push(JSON.stringify({ ids: encoding.ids, tokens: encoding.tokens }));
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
