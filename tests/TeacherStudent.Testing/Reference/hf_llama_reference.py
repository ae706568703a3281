"""An independent reference for Llama-family decoders (Llama, Mistral, Qwen2, Qwen3) in Hugging Face model directories.

Written from the semantics of Hugging Face transformers (models/llama/modeling_llama.py, mistral, qwen2, qwen3,
and modeling_rope_utils.py for the llama3 and linear RoPE scaling), because transformers itself, like the
safetensors and tokenizers packages, cannot be installed here: only Debian's python3-torch and numpy can. It shares
no code with the C# model that tests compare against it.

    write DIR --family llama|mistral|qwen2|qwen3 [options]
        A tiny random model as a real Hugging Face directory: config.json, model.safetensors (or two shards and
        model.safetensors.index.json), tokenizer.json (byte-level BPE), tokenizer_config.json, generation_config.json.
    logprobs DIR [--temperature T] [--vocabulary V] [--variant ...] < rows.json
        Reads a JSON array of rows of token ids (all rows the same length) and writes the JSON array [B][L][V] of
        log_softmax(logits[..., :V] / T), the causal LM's forward computed in float64 at positions 0..L-1.
        A --variant other than "none" computes a deliberately wrong forward, for tests to show they tell it apart.

Run it with Debian's Python, which sees python3-torch: /usr/bin/python3 hf_llama_reference.py ...
"""

import argparse
import json
import math
import os
import re
import struct
import sys
from collections import Counter

import torch

# ---------------------------------------------------------------------------------------------------------------
# safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, raw bytes.

SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def tensor_bytes(tensor):
    """The raw bytes of a tensor, little-endian on the x86 and ARM machines this runs on (numpy has no bfloat16,
    so 16-bit tensors travel as int16)."""
    tensor = tensor.contiguous()
    if tensor.dtype in (torch.bfloat16, torch.float16):
        tensor = tensor.view(torch.int16)
    return tensor.numpy().tobytes()


def write_safetensors(path, tensors):
    """Writes {name: tensor} in name order, the header padded with spaces to a multiple of 8 bytes."""
    header, offset = {}, 0
    for name in sorted(tensors):
        tensor = tensors[name]
        size = tensor.numel() * tensor.element_size()
        dtype = next(key for key, value in SAFETENSORS_DTYPES.items() if value == tensor.dtype)
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(text)))
        file.write(text)
        for name in sorted(tensors):
            file.write(tensor_bytes(tensors[name]))


def read_safetensors(path, bf16_as_f16=False):
    """Reads every tensor of a file, upcast exactly to float64. bf16_as_f16 misreads bfloat16 bytes as float16."""
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        data = file.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in SAFETENSORS_DTYPES:
            sys.exit(f"{path}: tensor {name} has dtype {entry['dtype']}; this reference reads F32, F16 and BF16.")
        begin, end = entry["data_offsets"]
        raw = bytearray(data[begin:end])  # a writable copy, so torch.frombuffer does not warn
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        if dtype == torch.bfloat16 and bf16_as_f16:
            dtype = torch.float16
        if dtype == torch.float32:
            tensor = torch.frombuffer(raw, dtype=torch.float32)
        else:
            tensor = torch.frombuffer(raw, dtype=torch.int16).view(dtype)
        tensors[name] = tensor.reshape(entry["shape"]).to(torch.float64)
    return tensors


# ---------------------------------------------------------------------------------------------------------------
# tokenizer.json: byte-level BPE as GPT-2, Llama 3 and Qwen use it, with merges learned from a small built-in text.

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CORPUS = """
The teacher reads the question, thinks it through step by step, and writes the answer down. The student reads the
same question and tries to give the same answer at once, without the steps in between. Over many questions the
student learns what the teacher would say, and a small model comes to do what a large one did.
A language model gives every token of its vocabulary a probability, one position after another. Hello world, hello
there, hello again: the words that come often are merged into tokens first, and rare words stay split into bytes.
Numbers such as 12, 345 and 6789 are split into digits and groups of digits; punctuation stands on its own.
The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. How vexingly quick daft
zebras jump! Sphinx of black quartz, judge my vow. The five boxing wizards jump quickly.
When the rain stopped, the children went out into the garden and played until the evening came and the lights of
the houses were lit one by one. Their mother called them in for dinner, and they came running, wet and laughing.
It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a
wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this
truth is so well fixed in the minds of the surrounding families, that he is considered as the rightful property of
some one or other of their daughters.
Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing
particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.
In the beginning was the word, and the word was with the writer, and the writer wrote it again and again until it
was right. Distillation, temperature, softmax, logits, gradients, checkpoints, batches, epochs and tokenizers.
"""

# GPT-2's pre-tokenizer pattern with ASCII classes, which is all the built-in text needs.
WORD_PATTERN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def byte_symbols():
    """GPT-2's bytes_to_unicode, in its order: printable bytes stand for themselves, the rest move to U+0100 on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    order, symbols, shifted = list(printable), [chr(b) for b in printable], 0
    for b in range(256):
        if b not in printable:
            order.append(b)
            symbols.append(chr(256 + shifted))
            shifted += 1
    return order, symbols


def learn_merges(new_tokens):
    """BPE training on CORPUS until new_tokens tokens exist beyond the 256 bytes; ties broken by the pair itself."""
    order, symbols = byte_symbols()
    symbol_of = dict(zip(order, symbols))
    words = Counter(tuple(symbol_of[b] for b in word.encode("utf-8")) for word in WORD_PATTERN.findall(CORPUS))
    known, merges, added = set(symbols), [], []
    while len(added) < new_tokens:
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            sys.exit(f"The built-in text gives only {len(added)} merges: ask for --vocab {256 + len(added) + len(SPECIAL_TOKENS)} or less.")
        best = max(pairs, key=lambda pair: (pairs[pair], pair))
        merges.append(best)
        if best[0] + best[1] not in known:
            known.add(best[0] + best[1])
            added.append(best[0] + best[1])
        merged = Counter()
        for word, count in words.items():
            merged[merge_pair(word, best)] += count
        words = merged
    return merges, added


def merge_pair(word, pair):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def tokenizer_json(size):
    """A tokenizer.json of exactly `size` ids: 256 bytes, learned merges, then the special tokens."""
    if size < 256 + len(SPECIAL_TOKENS):
        sys.exit(f"--vocab must be at least {256 + len(SPECIAL_TOKENS)} (256 bytes and {len(SPECIAL_TOKENS)} special tokens).")
    _, symbols = byte_symbols()
    merges, added = learn_merges(size - 256 - len(SPECIAL_TOKENS))
    vocab = {token: i for i, token in enumerate(symbols + added)}
    specials = {token: len(vocab) + i for i, token in enumerate(SPECIAL_TOKENS)}
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for token, i in specials.items()
        ],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {**byte_level, "trim_offsets": False},
        "decoder": byte_level,
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges],
        },
    }, specials


# ---------------------------------------------------------------------------------------------------------------
# config.json: the fields transformers writes for each family (4.5x, the rope_theta + rope_scaling form of the hub).

ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}
ROPE_SCALINGS = {
    "none": None,
    # Llama 3.1's shape (factor 8, low 1, high 4) with the original context scaled down from 8192 to 32, so that
    # a head_dim of 16 has frequencies in all three bands: kept, smoothed and divided by the factor.
    "llama3": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
    "linear": {"rope_type": "linear", "factor": 2.0},
}


def make_config(args, specials):
    head_dim = args.head_dim or args.hidden // args.heads
    if args.heads % args.kv_heads:
        sys.exit(f"--heads {args.heads} is not a multiple of --kv-heads {args.kv_heads}.")
    if args.family == "mistral" and args.attention_bias:
        sys.exit("Mistral has no attention biases (transformers' MistralAttention has none).")
    config = {
        "architectures": [ARCHITECTURES[args.family]],
        "model_type": args.family,
        "attention_dropout": 0.0,
        "bos_token_id": specials["<|endoftext|>"],
        "eos_token_id": specials["<|im_end|>"],
        "hidden_act": "silu",
        "hidden_size": args.hidden,
        "initializer_range": 0.02,
        "intermediate_size": args.intermediate,
        "max_position_embeddings": args.max_positions,
        "num_attention_heads": args.heads,
        "num_hidden_layers": args.layers,
        "num_key_value_heads": args.kv_heads,
        "rms_norm_eps": 1e-6 if args.family.startswith("qwen") else 1e-5,
        "rope_scaling": ROPE_SCALINGS[args.rope_scaling],
        "rope_theta": args.rope_theta,
        "tie_word_embeddings": args.tied,
        "torch_dtype": args.dtype,
        "transformers_version": "4.51.3",
        "use_cache": True,
        "vocab_size": args.vocab + args.padded_vocab,
    }
    if args.family == "llama":
        config.update(attention_bias=args.attention_bias, head_dim=head_dim, mlp_bias=False, pretraining_tp=1)
    elif args.family == "mistral":
        config.update(head_dim=head_dim, sliding_window=None)
    elif args.family == "qwen2":
        # Qwen2Config has no head_dim; Qwen2Attention reads one when the file has it.
        if head_dim != args.hidden // args.heads:
            config["head_dim"] = head_dim
        config.update(max_window_layers=args.layers, sliding_window=None, use_sliding_window=False)
    else:
        config.update(attention_bias=args.attention_bias, head_dim=head_dim, max_window_layers=args.layers,
                      sliding_window=None, use_sliding_window=False)
    return dict(sorted(config.items()))


def has_attention_bias(config):
    """Qwen2 always has q/k/v biases (o_proj none); Llama and Qwen3 have q/k/v/o biases when attention_bias is set."""
    return config["model_type"] == "qwen2" or bool(config.get("attention_bias", False))


def head_dim_of(config):
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


# ---------------------------------------------------------------------------------------------------------------
# Weights: the exact Hugging Face names and shapes, random values large enough that every part changes the output.

def weight_shapes(config):
    """[(name, shape)] of every tensor the checkpoint holds, in the order they are drawn from the generator."""
    hidden, inner, head_dim = config["hidden_size"], config["intermediate_size"], head_dim_of(config)
    q_size, kv_size = config["num_attention_heads"] * head_dim, config["num_key_value_heads"] * head_dim
    family, bias = config["model_type"], has_attention_bias(config)
    shapes = [("model.embed_tokens.weight", [config["vocab_size"], hidden])]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.append((p + "input_layernorm.weight", [hidden]))
        for proj, rows in (("q_proj", q_size), ("k_proj", kv_size), ("v_proj", kv_size)):
            shapes.append((p + f"self_attn.{proj}.weight", [rows, hidden]))
            if bias:
                shapes.append((p + f"self_attn.{proj}.bias", [rows]))
        shapes.append((p + "self_attn.o_proj.weight", [hidden, q_size]))
        if bias and family != "qwen2":
            shapes.append((p + "self_attn.o_proj.bias", [hidden]))
        if family == "qwen3":
            shapes += [(p + "self_attn.q_norm.weight", [head_dim]), (p + "self_attn.k_norm.weight", [head_dim])]
        shapes.append((p + "post_attention_layernorm.weight", [hidden]))
        shapes += [(p + "mlp.gate_proj.weight", [inner, hidden]), (p + "mlp.up_proj.weight", [inner, hidden]),
                   (p + "mlp.down_proj.weight", [hidden, inner])]
    shapes.append(("model.norm.weight", [hidden]))
    if not config["tie_word_embeddings"]:
        shapes.append(("lm_head.weight", [config["vocab_size"], hidden]))
    return shapes


def random_weights(config, seed, dtype):
    """Norm weights 1 + 0.1 N(0,1), biases 0.1 N(0,1), matrices 0.2 N(0,1), drawn in float32 and stored in dtype."""
    generator = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in weight_shapes(config):
        values = torch.randn(shape, generator=generator, dtype=torch.float32)
        if name.endswith("norm.weight"):
            values = 1.0 + 0.1 * values
        elif name.endswith(".bias"):
            values = 0.1 * values
        else:
            values = 0.2 * values
        weights[name] = values.to(getattr(torch, dtype))
    return weights


# ---------------------------------------------------------------------------------------------------------------
# write

def write_json(path, value):
    with open(path, "w", encoding="utf-8") as file:
        json.dump(value, file, indent=2, ensure_ascii=False)
        file.write("\n")


def write_weights(directory, weights, sharded):
    if not sharded:
        write_safetensors(os.path.join(directory, "model.safetensors"), weights)
        return
    # The tensors in generator order, split in two halves, as save_pretrained splits a checkpoint by size.
    names = list(weights)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {}
    for file, part in zip(files, halves):
        write_safetensors(os.path.join(directory, file), {name: weights[name] for name in part})
        weight_map.update({name: file for name in part})
    total = sum(t.numel() * t.element_size() for t in weights.values())
    write_json(os.path.join(directory, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


def write(args):
    os.makedirs(args.directory, exist_ok=True)
    tokenizer, specials = tokenizer_json(args.vocab)
    config = make_config(args, specials)
    write_json(os.path.join(args.directory, "config.json"), config)
    write_weights(args.directory, random_weights(config, args.seed, args.dtype), args.sharded)
    write_json(os.path.join(args.directory, "tokenizer.json"), tokenizer)
    write_json(os.path.join(args.directory, "tokenizer_config.json"), {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True} for t, i in specials.items()},
        "bos_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "model_max_length": args.max_positions,
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "PreTrainedTokenizerFast",
    })
    write_json(os.path.join(args.directory, "generation_config.json"), {
        "_from_model_config": True,
        "bos_token_id": config["bos_token_id"],
        "eos_token_id": config["eos_token_id"],
        "transformers_version": config["transformers_version"],
    })


# ---------------------------------------------------------------------------------------------------------------
# The forward, in float64, as transformers computes it.

def load(directory, bf16_as_f16):
    if not os.path.isfile(os.path.join(directory, "config.json")):
        sys.exit(f"{directory} has no config.json: not a Hugging Face model directory.")
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as file:
        config = json.load(file)
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as file:
            files = sorted(set(json.load(file)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(directory, name), bf16_as_f16))
    if config.get("tie_word_embeddings", False):
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    elif "lm_head.weight" not in weights:
        sys.exit(f"{directory}: tie_word_embeddings is false, yet the checkpoint has no lm_head.weight.")
    return config, weights


def rope_inverse_frequencies(config):
    """inv_freq of modeling_rope_utils: the default one, then linear or llama3 scaling (its attention factor is 1)."""
    head_dim = head_dim_of(config)
    scaling = config.get("rope_parameters") or config.get("rope_scaling") or {}
    theta = scaling.get("rope_theta", config.get("rope_theta", 10000.0))
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return inv_freq
    if kind == "linear":
        return inv_freq / scaling["factor"]
    if kind == "llama3":
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old_context = scaling["original_max_position_embeddings"]
        wavelength = 2 * math.pi / inv_freq
        # Long wavelengths are divided by the factor, short ones kept, those between interpolated smoothly.
        scaled = torch.where(wavelength > old_context / low, inv_freq / factor, inv_freq)
        smooth = (old_context / wavelength - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelength >= old_context / high) & (wavelength <= old_context / low)
        return torch.where(medium, smoothed, scaled)
    sys.exit(f"rope type {kind} is not in this reference (default, linear, llama3).")


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, angles, variant):
    """x: [B, H, L, D]; angles: [L, D/2]. transformers rotates the two halves of a head against each other."""
    if variant == "interleaved-rope":
        # Wrong on purpose: GPT-J/Meta style, adjacent pairs (x0, x1), (x2, x3), ... rotated together.
        cos, sin = angles.cos().repeat_interleave(2, -1), angles.sin().repeat_interleave(2, -1)
        pairs = torch.stack((-x[..., 1::2], x[..., 0::2]), dim=-1).flatten(-2)
        return x * cos + pairs * sin
    emb = torch.cat((angles, angles), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def linear(x, weights, name, use_bias=True):
    y = x @ weights[name + ".weight"].T
    if use_bias and name + ".bias" in weights:
        y = y + weights[name + ".bias"]
    return y


def attention(x, weights, p, config, angles, variant):
    batch, length, _ = x.shape
    heads, kv_heads, head_dim = config["num_attention_heads"], config["num_key_value_heads"], head_dim_of(config)
    keep_bias = variant != "no-bias"

    def project(name, count):
        return linear(x, weights, p + name, keep_bias).view(batch, length, count, head_dim)

    q, k, v = project("q_proj", heads), project("k_proj", kv_heads), project("v_proj", kv_heads)
    if config["model_type"] == "qwen3":
        # Qwen3 normalises each head of q and k over head_dim, before the rotary embedding.
        q = rms_norm(q, weights[p + "q_norm.weight"], config["rms_norm_eps"])
        k = rms_norm(k, weights[p + "k_norm.weight"], config["rms_norm_eps"])
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    q, k = apply_rope(q, angles, variant), apply_rope(k, angles, variant)

    group = heads // kv_heads
    if variant == "kv-heads-tiled":
        k, v = k.repeat(1, group, 1, 1), v.repeat(1, group, 1, 1)  # wrong on purpose: head j reads kv head j % kv_heads
    else:
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # repeat_kv: j // group

    scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
    causal = torch.ones(length, length, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(causal, float("-inf"))
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, heads * head_dim)
    return linear(out, weights, p + "o_proj")


def mlp(x, weights, p):
    gate, up = linear(x, weights, p + "gate_proj"), linear(x, weights, p + "up_proj")
    return linear(torch.nn.functional.silu(gate) * up, weights, p + "down_proj")


def logits_of(rows, config, weights, variant):
    """The causal LM's logits [B, L, vocab_size] for token ids [B, L] at positions 0..L-1."""
    length, eps = rows.shape[1], config["rms_norm_eps"]
    angles = torch.outer(torch.arange(length, dtype=torch.float64), rope_inverse_frequencies(config))
    h = weights["model.embed_tokens.weight"][rows]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = h + attention(rms_norm(h, weights[p + "input_layernorm.weight"], eps), weights, p + "self_attn.", config, angles, variant)
        h = h + mlp(rms_norm(h, weights[p + "post_attention_layernorm.weight"], eps), weights, p + "mlp.")
    return rms_norm(h, weights["model.norm.weight"], eps) @ weights["lm_head.weight"].T


def check_supported(config, rows, variant, weights, directory):
    family = config.get("model_type")
    if family not in ARCHITECTURES:
        sys.exit(f"{directory}: model_type {family!r} is not one of {', '.join(ARCHITECTURES)}.")
    if config.get("hidden_act", "silu") != "silu":
        sys.exit(f"{directory}: hidden_act {config['hidden_act']!r}; this reference computes silu.")
    window = config.get("sliding_window")
    if window is not None and (family == "mistral" or config.get("use_sliding_window", False)) and window < rows.shape[1]:
        sys.exit(f"{directory}: a sliding window of {window} shorter than the rows is not in this reference.")
    vocab = config["vocab_size"]
    if rows.numel() and (rows.min() < 0 or rows.max() >= vocab):
        sys.exit(f"token ids must lie in [0, {vocab}); the rows hold {rows.min().item()}..{rows.max().item()}.")
    # A wrong variant that would change nothing for this model is refused, so that no test compares equal things.
    if variant == "no-bias" and not any(name.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias")) for name in weights):
        sys.exit(f"{directory}: the model has no q/k/v biases, so --variant no-bias would change nothing.")
    group = config["num_attention_heads"] // config["num_key_value_heads"]
    if variant == "kv-heads-tiled" and (group == 1 or config["num_key_value_heads"] == 1):
        sys.exit(f"{directory}: with {config['num_key_value_heads']} key/value heads for {config['num_attention_heads']} heads, --variant kv-heads-tiled would change nothing.")
    if variant == "bf16-as-f16" and config.get("torch_dtype", config.get("dtype")) != "bfloat16":
        sys.exit(f"{directory}: the weights are not bfloat16, so --variant bf16-as-f16 would change nothing.")


def read_rows(text):
    rows = json.loads(text)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        sys.exit("stdin must hold a JSON array of non-empty rows of token ids, e.g. [[1, 2, 3], [4, 5, 6]].")
    if len({len(r) for r in rows}) != 1:
        sys.exit(f"all rows must have the same length; they have {sorted({len(r) for r in rows})}.")
    return torch.tensor(rows, dtype=torch.int64)


def logprobs(args):
    config, weights = load(args.directory, bf16_as_f16=args.variant == "bf16-as-f16")
    rows = read_rows(sys.stdin.read())
    check_supported(config, rows, args.variant, weights, args.directory)
    vocabulary = config["vocab_size"] if args.vocabulary is None else args.vocabulary
    if not 0 < vocabulary <= config["vocab_size"]:
        sys.exit(f"--vocabulary must lie in 1..{config['vocab_size']}.")
    if not args.temperature > 0:
        sys.exit("--temperature must be positive.")
    with torch.no_grad():
        logits = logits_of(rows, config, weights, args.variant)
        result = torch.log_softmax(logits[..., :vocabulary] / args.temperature, dim=-1)
    json.dump(result.tolist(), sys.stdout, allow_nan=False)  # float64 log_softmax of finite logits is finite
    sys.stdout.write("\n")


# ---------------------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    w = commands.add_parser("write", help="write a tiny random model as a Hugging Face directory")
    w.add_argument("directory")
    w.add_argument("--family", required=True, choices=sorted(ARCHITECTURES))
    w.add_argument("--dtype", default="float32", choices=sorted(DTYPE_NAMES))
    w.add_argument("--sharded", action="store_true", help="two shards and model.safetensors.index.json")
    w.add_argument("--tied", action="store_true", help="tie_word_embeddings: no lm_head.weight")
    w.add_argument("--layers", type=int, default=2)
    w.add_argument("--hidden", type=int, default=64)
    w.add_argument("--heads", type=int, default=4)
    w.add_argument("--kv-heads", type=int, default=2)
    w.add_argument("--head-dim", type=int, default=None, help="explicit head_dim (default hidden / heads)")
    w.add_argument("--intermediate", type=int, default=96)
    w.add_argument("--vocab", type=int, default=300, help="the tokenizer's size, 259 to 840")
    w.add_argument("--padded-vocab", type=int, default=0, help="embedding rows beyond the tokenizer, as Qwen pads")
    w.add_argument("--rope-scaling", default="none", choices=list(ROPE_SCALINGS))
    w.add_argument("--rope-theta", type=float, default=10000.0)
    w.add_argument("--attention-bias", action="store_true", help="q/k/v/o biases (Llama, Qwen3); Qwen2 always has q/k/v biases")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--max-positions", type=int, default=128)
    w.set_defaults(run=write)

    lp = commands.add_parser("logprobs", help="log_softmax(logits / T) of rows of token ids read from stdin")
    lp.add_argument("directory")
    lp.add_argument("--temperature", type=float, default=1.0)
    lp.add_argument("--vocabulary", type=int, default=None, help="keep the first V logits (default all of vocab_size)")
    lp.add_argument("--variant", default="none", choices=["none", "interleaved-rope", "kv-heads-tiled", "no-bias", "bf16-as-f16"])
    lp.set_defaults(run=logprobs)

    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args.run(args)


if __name__ == "__main__":
    main()
