import keras
import numpy as np

from zoo import datasets
from zoo.mlp import build_mlp
from zoo.training import restart


def test_a_restarted_model_trains_exactly_like_a_fresh_one():
    (x, y), _ = datasets.load("digits", seed=0, train_size=200)

    def fresh():
        keras.utils.set_random_seed(0)
        model = build_mlp(x.shape[1:], hidden_units=(16,))
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        return model

    def fit(model):
        keras.utils.set_random_seed(0)
        data, steps = datasets.batches(x, y, 32, seed=0)
        model.fit(data, steps_per_epoch=steps, epochs=3, shuffle=False, verbose=0)
        return model.predict_on_batch(x)

    reused = fresh()
    initial = reused.get_weights()
    fit(reused)
    restart(reused, initial)
    assert int(reused.optimizer.iterations) == 0
    assert float(reused.optimizer.learning_rate) == np.float32(0.01)
    np.testing.assert_allclose(fit(reused), fit(fresh()), rtol=1e-5, atol=1e-6)
