"""A training step, once in formulas (keras.ops), per backend in tensorflow / jax: gradients, state, compilation."""
