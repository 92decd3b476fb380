import keras
import numpy as np
import pytest

from zoo import lora
from zoo.language_model import build_language_model
from zoo.training import Trainer

VOCAB, LENGTH = 15, 9


def base_model():
    keras.utils.set_random_seed(0)
    return build_language_model(VOCAB, LENGTH, d_model=16, num_heads=2, feed_forward_dim=32)


def tokens(seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, (8, LENGTH - 1)).astype("int32")


def predict(model):
    return keras.ops.convert_to_numpy(model(tokens(), training=False))


def perturbed(model, seed=1):
    """The adapter's factors set to random values, as if trained."""
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))
    return model


@pytest.mark.parametrize("placement", list(lora.PLACEMENTS))
@pytest.mark.parametrize("rank", [1, 4])
def test_only_the_factors_train_and_they_count_as_the_shapes_say(placement, rank):
    model = base_model()
    before = predict(model)
    expected = lora.lora_parameter_count(model, rank, placement)
    targets = lora.enable_lora(model, rank, placement)
    assert len(targets) == 2 * len(lora.PLACEMENTS[placement])  # two blocks
    names = {weight.path.rsplit("/", 1)[-1] for weight in model.trainable_weights}
    assert names == {"lora_kernel_a", "lora_kernel_b"}
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected
    # By hand: the query kernel (16, 2 heads, 8) is A (16, 2, r) times B (r, 8).
    per_query = 16 * 2 * rank + rank * 8
    per_feed_forward = (16 * rank + rank * 32) + (32 * rank + rank * 16)
    blocks = 2 * (2 * per_query + (per_feed_forward if placement != "attention" else 0))
    assert expected == blocks
    np.testing.assert_array_equal(predict(model), before)  # B = 0: the base model exactly


def test_training_moves_the_factors_and_nothing_else():
    x, y = tokens(), tokens(1)
    weights = base_model().get_weights()

    def build():
        model = base_model()
        model.set_weights(weights)
        lora.enable_lora(model, 2)
        return model

    model, _ = Trainer().fit(
        build,
        keras.optimizers.Adam(learning_rate=1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        x,
        y,
        batch_size=8,
        epochs=3,
        seed=0,
    )
    reference = base_model()
    reference.set_weights(weights)
    base = {w.path: keras.ops.convert_to_numpy(w) for w in reference.weights}
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        if weight.path.endswith("lora_kernel_b"):
            assert np.abs(value).max() > 0
        elif not weight.path.endswith("lora_kernel_a"):
            np.testing.assert_array_equal(value, base[weight.path])


def test_an_adapter_file_carries_the_task_and_removing_it_gives_the_base_back(tmp_path):
    base = base_model()
    original = predict(base)
    model = base_model()
    lora.enable_lora(model, 4, "attention_and_feed_forward")
    adapted = predict(perturbed(model))
    path = lora.save_adapter(model, tmp_path / "task.npz")
    assert not list(tmp_path.glob("*.partial"))
    fresh = lora.load_adapter(base_model(), path)
    np.testing.assert_array_equal(predict(fresh), adapted)
    np.testing.assert_array_equal(predict(lora.remove_adapter(fresh)), original)
    assert (
        path.stat().st_size * 3
        < (model.save(tmp_path / "m.keras") or 0) + (tmp_path / "m.keras").stat().st_size
    )


def test_model_save_merges_the_adapter_into_the_kernels(tmp_path):
    """What Keras does: the saved kernel is W + A B; the factors are not in the file, so
    the loaded model predicts as the adapted one but has no adapter left to remove."""
    model = base_model()
    lora.enable_lora(model, 2)
    adapted = predict(perturbed(model))
    model.save(tmp_path / "merged.keras")
    loaded = keras.saving.load_model(tmp_path / "merged.keras", safe_mode=True)
    np.testing.assert_allclose(predict(loaded), adapted, atol=1e-5)
    assert not [layer for layer in loaded._flatten_layers() if getattr(layer, "lora_enabled", 0)]
    query = loaded.get_layer("block_0").attention.query_dense
    base_query = base_model().get_layer("block_0").attention.query_dense
    assert not np.allclose(query.kernel.numpy(), base_query.kernel.numpy())
    with pytest.raises(ValueError, match="no LoRA adapter"):
        lora.save_adapter(loaded, tmp_path / "none.npz")


def test_a_top_level_dense_comes_back_with_zero_factors(tmp_path):
    """A layer whose config carries `lora_rank` is re-enabled on loading, with A = B = 0:
    training it again starts the adapter from nothing (B = 0 and A = 0 give no gradient
    to either), on top of the merged kernel."""
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="dense")(inputs))
    model.get_layer("dense").enable_lora(2)
    perturbed(model)
    model.save(tmp_path / "dense.keras")
    loaded = keras.saving.load_model(tmp_path / "dense.keras", safe_mode=True)
    layer = loaded.get_layer("dense")
    assert layer.lora_enabled
    assert (
        not np.abs(layer.lora_kernel_a.numpy()).any()
        and not np.abs(layer.lora_kernel_b.numpy()).any()
    )


def test_an_adapter_that_does_not_fit_is_refused(tmp_path):
    model = base_model()
    lora.enable_lora(model, 4)
    path = lora.save_adapter(model, tmp_path / "a.npz")
    wider = build_language_model(VOCAB, LENGTH, d_model=32, num_heads=2)
    with pytest.raises(ValueError, match="shape"):
        lora.load_adapter(wider, path)
    (tmp_path / "junk.npz").write_bytes(b"not an adapter")
    with pytest.raises(ValueError, match="not a LoRA adapter"):
        lora.load_adapter(base_model(), tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="placement"):
        lora.enable_lora(base_model(), 4, "everywhere")
    with pytest.raises(ValueError, match="rank"):
        lora.enable_lora(base_model(), 0)


def test_the_trainer_keeps_lora_variants_apart():
    """Same configuration, different trainable weights: each rank compiles its own
    training step, and a rank seen before reuses its own."""
    weights = base_model().get_weights()
    trainer = Trainer()
    x, y = tokens(), tokens(1)
    counts = []
    for rank in (1, 2, 1):

        def build(rank=rank):
            model = base_model()
            model.set_weights(weights)
            if rank:
                lora.enable_lora(model, rank)
            return model

        model, _ = trainer.fit(
            build,
            keras.optimizers.Adam(learning_rate=1e-3),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            x,
            y,
            batch_size=8,
            seed=0,
        )
        counts.append(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    assert trainer.compiled == 2 and counts[0] == counts[2] < counts[1]


def test_an_adapter_file_holds_the_factors_and_little_else(tmp_path):
    overhead = {}
    for rank in (1, 8):
        model = base_model()
        lora.enable_lora(model, rank, "attention")
        path = lora.save_adapter(model, tmp_path / f"rank{rank}.npz")
        factors = sum(array.nbytes for array in lora.adapter_weights(model).values())
        overhead[rank] = path.stat().st_size - factors
    assert 0 < overhead[1] == overhead[8] < 4096  # grows with the factors, nothing else
