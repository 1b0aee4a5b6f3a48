namespace Dream.Core.Tokenization;

/// <summary>
/// A token matched by exact string before pre-tokenization (`added_tokens` in tokenizer.json,
/// `added_tokens_decoder` in tokenizer_config.json), e.g. <c>&lt;|im_start|&gt;</c>. It is never merged with its
/// neighbours.
/// </summary>
/// <param name="Id">Its id; decoding prefers this entry over a vocabulary token with the same id.</param>
/// <param name="Content">The exact text it matches.</param>
/// <param name="Special">Dropped by decoding with <c>skipSpecialTokens</c> (some Qwen added tokens are not special).</param>
/// <param name="Normalized">Matched in the NFC-normalized text rather than in the raw text (false for all Qwen tokens).</param>
public sealed record AddedToken(int Id, string Content, bool Special, bool Normalized = false);
