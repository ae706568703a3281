namespace TeacherStudent.Distillation.Tests.Text;

/// <summary>
/// Texts on which a tokenizer most easily goes wrong: every script the pre-tokenizer pattern
/// classifies differently, emoji sequences, code, numbers, whitespace of every kind, special
/// tokens written in the text, and the empty string; plus held-out fortunes entries for plain English.
/// </summary>
internal static class TokenizerTexts
{
    /// <summary>A letter written decomposed and composed: Qwen's normalizer (NFC) composes it, Llama 3 has no normalizer.</summary>
    public const string Decomposed = "e\u0301 versus \u00e9: the same letter, decomposed and composed.";

    /// <summary>What <see cref="Decomposed"/> is after NFC (written out: the tests run with invariant globalization, which does not normalize).</summary>
    public const string DecomposedComposed = "\u00e9 versus \u00e9: the same letter, decomposed and composed.";

    /// <summary>Texts that come back unchanged from encode and decode with every tokenizer tested (all are NFC already).</summary>
    public static readonly string[] Varied =
    [
        "",
        "Hello World",
        "Ça va? Élève naïve, façade, Ångström, Zürich, smørrebrød, Łódź, İstanbul, straße, œuvre.",
        "Γειά σου Κόσμε· ΑΒΓΔ αβγδ ς",
        "Привет, мир! Съешь же ещё этих мягких французских булок. ЁЖИК",
        "שלום עולם, מה שלומך?",
        "مرحبا بالعالم، كيف حالك؟ ١٢٣٤٥",
        "你好，世界！我爱自然语言处理。",
        "日本語のテキスト、カタカナとひらがな。",
        "안녕하세요 세계! 한국어 텍스트입니다.",
        "Family: 👨‍👩‍👧‍👦, couple: 👩‍❤️‍👨, thumbs: 👍🏽, flags: 🇫🇷🇯🇵🇺🇦, rainbow flag: 🏳️‍🌈",
        "😀😃😄😁😆😅🤣😂🙂🙃",
        "public static int Add(int a, int b)\n{\n\treturn a + b; // sum\n}\n",
        "def f(x):\n    if x > 0:\n        return [i ** 2 for i in range(x)]\n    return None\n",
        "<div class=\"a\">&amp; {\"json\": [1, 2.5, null, true]}</div>",
        "https://example.com/path/to/page?query=value&other=1#fragment and mailto:user@example.org",
        "12345678901234567890123456789012345678901234567890",
        "3.14159265358979 1,000,000.00 -42 +7 1e-10 0x1F 2026-12-07",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!! ======================== ------------",
        "ⅣⅣⅣⅣⅣⅣⅣⅣ ………… ———— ____",
        "\t\t\tindented with tabs\tand\ttabs",
        "line one\nline two\n\n\nline five\r\nwindows line\rold mac",
        "   leading spaces",
        "trailing spaces     ",
        "a  b   c    d     e      f",
        "     ",
        "\n",
        " \n \n\t\n",
        "non\u00A0breaking\u00A0space, narrow\u202Fno-break, ideographic\u3000space",
        "zero\u200Bwidth\u200Bspace, joiner\u200D, non-joiner\u200C, word joiner\u2060, bom\uFEFF",
        "I'm sure you're right, DON'T you think? It'S they'll, we'd, I've.",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
        "text<|endoftext|>more text<|endoftext|>",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
        "glued<|im_end|>words and <|im_start| not quite a token |im_start|>",
        "Mixed: English, Русский, 中文, العربية, עברית, 한국어, Ελληνικά, emoji 🎉 in one line.",
    ];

    /// <summary>Held-out fortunes entries: plain English with its punctuation, quotes, indentation and attributions.</summary>
    public static IReadOnlyList<string> Fortunes(int count) => RealFortunes.Corpus.Test.Take(count).ToArray();
}
