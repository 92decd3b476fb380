"""An autoregressive language model: a small decoder-only transformer, and how it writes.

The course: "ChatGPT is autoregressive because the next token in a sequence generation
depends on the previous tokens ... The output from one iteration is used as the input
into the next."

The model (GPT's shape, after nanoGPT and keras-hub's GPT-2 backbone, at a size a laptop
trains in seconds):

    tokens -> token embedding + position embedding
           -> num_layers x [ x + attention(norm(x)),  x + feed_forward(norm(x)) ]
           -> norm -> Dense(vocab_size): the logits of the next token at every position

The attention is `keras.layers.MultiHeadAttention` called with `use_causal_mask=True`:
position t attends to positions 0..t only, so the logits at t are a function of the
tokens up to t and the model can be trained on every position of a sequence at once,
each predicting the token after it. Normalization comes before each sublayer
("pre-norm", as in GPT-2), which trains without a learning-rate warm-up at this size.

- `build_language_model(vocab_size, sequence_length, ...)`: the model, a Functional
  `keras.Model` from token ids `(batch, length)` to logits `(batch, length, vocab_size)`.
- `generate(model, prompts, max_new_tokens, temperature, top_k, seed)`: the feedback
  loop, one token at a time, each fed back as input.
- `token_log_probs(logits, targets)` and `sequence_log_prob(model, tokens, mask)`: how
  likely the model finds a text, for scoring and for preference losses.
- `next_token_examples(tokens, loss_from)`: inputs and targets for next-token training,
  the loss on chosen positions only (say, an answer and not its prompt).
- `CharTokenizer`: text to ids and back, one character per token.
"""

import keras
import numpy as np


class CharTokenizer:
    """One token per character of a fixed alphabet, after a few reserved tokens.

    Reserved tokens come first: `<pad>` (id 0) fills sequences out to a common length
    and marks positions a loss ignores, `<end>` (id 1) can close a text; then one id per
    character of `alphabet`, in order.

    Args:
        alphabet: the characters, each once.

    Example:
        >>> tokenizer = CharTokenizer("0123456789+=")
        >>> tokenizer.encode(["1+1=2", "9+9=18"])
        array([[ 3, 12,  3, 13,  4,  0],
               [11, 12, 11, 13,  3, 10]], dtype=int32)
        >>> tokenizer.decode(_)
        ['1+1=2', '9+9=18']
    """

    RESERVED = ("<pad>", "<end>")
    pad_id, end_id = 0, 1

    def __init__(self, alphabet):
        if not alphabet or len(set(alphabet)) != len(alphabet):
            raise ValueError(f"the alphabet must be non-empty characters, each once: {alphabet!r}")
        self.alphabet = alphabet
        self._ids = {char: i + len(self.RESERVED) for i, char in enumerate(alphabet)}

    @property
    def vocab_size(self):
        return len(self.RESERVED) + len(self.alphabet)

    def encode(self, texts, length=None, end=False):
        """Token ids, shape `(len(texts), length)`, padded with `<pad>` at the end.

        Args:
            texts: strings of the alphabet's characters.
            length: the sequence length (default: the longest text's); a longer text is
                an error, not silently cut.
            end: close each text with `<end>`.
        """
        rows = []
        for text in texts:
            unknown = sorted(set(text) - set(self._ids))
            if unknown:
                raise ValueError(f"characters {unknown} are not in the alphabet {self.alphabet!r}")
            rows.append([self._ids[char] for char in text] + ([self.end_id] if end else []))
        length = max(map(len, rows), default=0) if length is None else length
        if any(len(row) > length for row in rows):
            raise ValueError(f"a text is longer than length={length} tokens")
        ids = np.full((len(rows), length), self.pad_id, dtype="int32")
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        return ids

    def decode(self, ids):
        """The texts, each up to its first `<end>`, padding dropped."""
        texts = []
        for row in np.asarray(ids):
            chars = []
            for token in row.tolist():
                if token == self.end_id:
                    break
                if token >= len(self.RESERVED):
                    chars.append(self.alphabet[token - len(self.RESERVED)])
            texts.append("".join(chars))
        return texts

    def get_config(self):
        return {"alphabet": self.alphabet}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """The sum of a learned embedding of each token and one of its position.

    Attention by itself does not know where a token is; the position embedding tells it.

    Args:
        vocab_size: how many token ids there are.
        sequence_length: the longest sequence the model reads (positions 0 to
            `sequence_length - 1` have an embedding).
        embedding_dim: the width of the embeddings (the model's `d_model`).

    Example:
        >>> layer = TokenAndPositionEmbedding(vocab_size=16, sequence_length=9, embedding_dim=64)
        >>> layer(np.zeros((2, 9), "int32")).shape
        (2, 9, 64)
    """

    def __init__(self, vocab_size, sequence_length, embedding_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.token_embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, name="token_embedding"
        )
        self.position_embedding = keras.layers.Embedding(
            sequence_length, embedding_dim, name="position_embedding"
        )

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        self.position_embedding.build((self.sequence_length,))

    def call(self, tokens):
        # The token embedding as a one-hot product, not a lookup: a lookup's gradient is
        # sparse on TensorFlow (`tf.IndexedSlices`, one row per occurrence of a token),
        # and Keras's TensorFlow optimizers square such a gradient row by row, so that
        # Adam's second moment for a token seen k times in a batch is the sum of the
        # squares of its k parts instead of the square of their sum: its update grows by
        # up to sqrt(k), and the same model trains differently on TensorFlow and JAX. The
        # product has a dense gradient on every backend (and costs nothing at the size of
        # a character vocabulary). Positions appear once each, so their lookup is exact.
        one_hot = keras.ops.one_hot(tokens, self.vocab_size, dtype=self.compute_dtype)
        embedded = keras.ops.matmul(one_hot, self.token_embedding.embeddings)
        positions = keras.ops.arange(keras.ops.shape(tokens)[-1])
        return embedded + self.position_embedding(positions)[None]

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "sequence_length": self.sequence_length,
            "embedding_dim": self.embedding_dim,
        }


@keras.saving.register_keras_serializable(package="zoo")
class TransformerBlock(keras.layers.Layer):
    """A pre-norm decoder block: causal self-attention, then a feed-forward network, each
    added back to its input (a residual connection).

        x = x + dropout(attention(norm(x), use_causal_mask=True))
        x = x + dropout(feed_forward_out(gelu(feed_forward_in(norm(x)))))

    Its sublayers are attributes, so that adapters can be placed on them by name:
    `attention` (a `keras.layers.MultiHeadAttention`, whose `query_dense`, `key_dense`,
    `value_dense` and `output_dense` are `EinsumDense` layers), `feed_forward_in` and
    `feed_forward_out` (`Dense`).

    Args:
        num_heads: attention heads; each has `d_model // num_heads` dimensions.
        feed_forward_dim: the width of the feed-forward network's hidden layer.
        dropout_rate: dropout on the attention weights and on each sublayer's output.

    Example:
        >>> block = TransformerBlock(num_heads=4, feed_forward_dim=256)
        >>> block(np.zeros((2, 9, 64), "float32")).shape
        (2, 9, 64)
    """

    def __init__(self, num_heads, feed_forward_dim, dropout_rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.feed_forward_dim = feed_forward_dim
        self.dropout_rate = dropout_rate
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="attention_norm")
        self.feed_forward_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, name="feed_forward_norm"
        )
        self.feed_forward_in = keras.layers.Dense(
            feed_forward_dim, activation="gelu", name="feed_forward_in"
        )
        self.dropout = keras.layers.Dropout(dropout_rate)
        self.attention = None  # its key_dim depends on the input's width: made in build

    def build(self, input_shape):
        d_model = input_shape[-1]
        if d_model % self.num_heads:
            raise ValueError(
                f"d_model ({d_model}) must be a multiple of num_heads ({self.num_heads})"
            )
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, d_model // self.num_heads, dropout=self.dropout_rate, name="attention"
        )
        self.feed_forward_out = keras.layers.Dense(d_model, name="feed_forward_out")
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.feed_forward_norm.build(input_shape)
        self.feed_forward_in.build(input_shape)
        self.feed_forward_out.build((*input_shape[:-1], self.feed_forward_dim))

    def call(self, x, training=None):
        h = self.attention_norm(x)
        h = self.attention(h, h, use_causal_mask=True, training=training)
        x = x + self.dropout(h, training=training)
        h = self.feed_forward_out(self.feed_forward_in(self.feed_forward_norm(x)))
        return x + self.dropout(h, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "feed_forward_dim": self.feed_forward_dim,
            "dropout_rate": self.dropout_rate,
        }


def build_language_model(
    vocab_size,
    sequence_length,
    num_layers=2,
    d_model=64,
    num_heads=4,
    feed_forward_dim=None,
    dropout_rate=0.0,
    name="language_model",
):
    """A decoder-only transformer from token ids to next-token logits.

    Args:
        vocab_size: how many token ids there are (`CharTokenizer.vocab_size`).
        sequence_length: the longest sequence it reads.
        num_layers: transformer blocks.
        d_model: the width of the embeddings and of every block.
        num_heads: attention heads per block.
        feed_forward_dim: the feed-forward networks' hidden width (default `4 * d_model`).
        dropout_rate: dropout after the embeddings, on the attention weights and on each
            sublayer's output.
        name: the model's name.

    Returns:
        A Functional `keras.Model`: int token ids `(batch, length)`, `length` up to
        `sequence_length`, to logits `(batch, length, vocab_size)`, not a softmax; train
        it with `SparseCategoricalCrossentropy(from_logits=True)`.

    Example:
        >>> model = build_language_model(vocab_size=16, sequence_length=9)
        >>> model.count_params()
        101776
    """
    for label, value in [
        ("vocab_size", vocab_size),
        ("sequence_length", sequence_length),
        ("num_layers", num_layers),
        ("d_model", d_model),
        ("num_heads", num_heads),
    ]:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    if d_model % num_heads:
        raise ValueError(f"d_model ({d_model}) must be a multiple of num_heads ({num_heads})")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = TokenAndPositionEmbedding(vocab_size, sequence_length, d_model, name="embedding")(tokens)
    x = keras.layers.Dropout(dropout_rate, name="embedding_dropout")(x)
    for i in range(num_layers):
        x = TransformerBlock(
            num_heads, feed_forward_dim or 4 * d_model, dropout_rate, name=f"block_{i}"
        )(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(tokens, logits, name=name)


def blocks(model):
    """The model's `TransformerBlock`s, in order."""
    return [layer for layer in model.layers if isinstance(layer, TransformerBlock)]


# --- training examples, scoring and generation -----------------------------------


def next_token_examples(tokens, loss_from=1, pad_id=CharTokenizer.pad_id):
    """Inputs and targets for next-token prediction: `x = tokens[:, :-1]` and
    `y = tokens[:, 1:]`, every target before position `loss_from` of `tokens` set to
    `pad_id`, which `SparseCategoricalCrossentropy(ignore_class=pad_id)` leaves out of the
    loss. With `loss_from` at the first answer token, the model is trained on answers
    only, not on predicting the prompts it is given.
    """
    tokens = np.asarray(tokens, dtype="int32")
    x, y = tokens[:, :-1], tokens[:, 1:].copy()
    y[:, : max(0, loss_from - 1)] = pad_id
    return x, y


def token_log_probs(logits, targets):
    """`log p(targets[t] | tokens up to t)` from the logits at each position, with
    `keras.ops` (differentiable, inside a training step too). Shapes `(batch, length,
    vocab)` and `(batch, length)` to `(batch, length)`."""
    log_probs = keras.ops.log_softmax(logits, axis=-1)
    targets = keras.ops.expand_dims(keras.ops.cast(targets, "int32"), -1)
    return keras.ops.squeeze(keras.ops.take_along_axis(log_probs, targets, axis=-1), -1)


def sequence_log_prob(model, tokens, mask):
    """How likely the model finds each text: the sum of `log p(token)` over the tokens
    `mask` marks (say, an answer's), each given every token before it.

    Args:
        model: a language model (token ids to logits).
        tokens: token ids, `(batch, length)`.
        mask: `(batch, length)`, 1 where a token is scored; the first token, which nothing
            predicts, cannot be.

    Returns:
        A NumPy array `(batch,)` of log probabilities (natural log).
    """
    tokens = np.asarray(tokens, dtype="int32")
    mask = np.asarray(mask, dtype="float32")
    if mask.shape != tokens.shape:
        raise ValueError(f"mask {mask.shape} must have the shape of tokens {tokens.shape}")
    if mask[:, 0].any():
        raise ValueError("the first token has no prediction to score: mask[:, 0] must be 0")
    logits = model.predict_on_batch(tokens)  # the whole text: one shape, as `generate`'s
    log_probs = keras.ops.convert_to_numpy(token_log_probs(logits[:, :-1], tokens[:, 1:]))
    return (log_probs.astype("float64") * mask[:, 1:]).sum(axis=-1)


def generate(model, prompts, max_new_tokens, temperature=0.0, top_k=None, seed=None):
    """Writes `max_new_tokens` tokens after each prompt, one at a time, each fed back in.

    Every step runs the model on the whole sequence so far and takes the logits at the
    last written position: temperature 0 takes the most likely token (greedy decoding);
    a positive temperature samples from `softmax(logits / temperature)`, from the
    `top_k` most likely tokens if given. The sequence is kept in one buffer of the final
    length, the positions not yet written holding 0: causal attention keeps them from
    the logits read, and the model compiles once, for one shape.

    Args:
        model: a language model (token ids to logits).
        prompts: token ids `(batch, prompt_length)`, all prompts of one length.
        max_new_tokens: how many tokens to write.
        temperature: 0 for greedy decoding, or the sampling temperature.
        top_k: sample among the `top_k` most likely tokens only.
        seed: an int, or a `keras.random.SeedGenerator` to continue. The draws of every
            step come from one `SeedGenerator`: the same seed writes the same texts, and
            every step's draw is a new one (an int seed passed to each step would draw
            the same uniform numbers every time).

    Returns:
        Token ids `(batch, prompt_length + max_new_tokens)`: the prompts and what was
        written after them.
    """
    prompts = np.asarray(prompts, dtype="int32")
    if prompts.ndim != 2 or prompts.shape[1] < 1:
        raise ValueError(f"prompts must be (batch, prompt_length >= 1), got {prompts.shape}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and not 1 <= top_k:
        raise ValueError(f"top_k must be a positive integer, got {top_k}")
    start = prompts.shape[1]
    tokens = np.concatenate([prompts, np.zeros((len(prompts), max_new_tokens), "int32")], axis=1)
    if temperature > 0 and not isinstance(seed, keras.random.SeedGenerator):
        seed = keras.random.SeedGenerator(seed)
    for position in range(start, start + max_new_tokens):
        logits = keras.ops.convert_to_numpy(model.predict_on_batch(tokens))[:, position - 1]
        if temperature == 0:
            tokens[:, position] = np.argmax(logits, axis=-1)
            continue
        logits = logits.astype("float32") / temperature
        if top_k is not None and top_k < logits.shape[-1]:
            kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
            logits = np.where(logits < kth, -np.inf, logits)
        drawn = keras.random.categorical(logits, 1, seed=seed)
        tokens[:, position] = keras.ops.convert_to_numpy(drawn)[:, 0]
    return tokens
