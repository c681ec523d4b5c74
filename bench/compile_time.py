"""Compile time of the MLP training step with its gradient, each system in a
fresh process with fresh caches (what a user waits for on a first run).

    compile_time.py jax     JAX: jit(step).lower(...).compile(), after import
    compile_time.py torch   torch.compile: the first step (forward compiled by
                            Inductor, backward by AOTAutograd, in a fresh
                            TORCHINDUCTOR_CACHE_DIR) minus a compiled step's
                            steady time
Each prints "import_ms compile_ms".  texc's time (driver.py) is the whole
`texc bench/mlp.tex --grad loss ...` process: parse to linked .so."""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def jax_time():
    t0 = time.perf_counter()
    import jax
    import jax.numpy as jnp
    import common
    t1 = time.perf_counter()
    from sys_jax import mlp_loss

    def step(p, x, y, lr):
        loss, g = jax.value_and_grad(mlp_loss)(p, x, y)
        return [w - lr * gw for w, gw in zip(p, g)], loss

    a = common.mlp_inputs()
    p = [jnp.asarray(a[k]) for k in ("W1", "b1", "W2", "b2", "W3", "b3")]
    t2 = time.perf_counter()
    jax.jit(step, donate_argnums=0).lower(p, jnp.asarray(a["x"]), jnp.asarray(a["y"]), jnp.asarray(a["lr"])).compile()
    return (t1 - t0) * 1e3, (time.perf_counter() - t2) * 1e3


def torch_time():
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="texc-bench-inductor-")
    os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] = "0"
    os.environ["TORCHINDUCTOR_AUTOGRAD_CACHE"] = "0"
    t0 = time.perf_counter()
    import torch
    import common
    import sys_torch
    t1 = time.perf_counter()
    a = common.mlp_inputs()
    r = sys_torch.mlp_step({k: torch.from_numpy(v) if v.ndim else float(v) for k, v in a.items()}, float(a["lr"]),
                           torch.compile(sys_torch.mlp_loss))
    t2 = time.perf_counter()
    r.run()
    first = time.perf_counter() - t2
    steady = []
    for _ in range(5):
        t3 = time.perf_counter()
        r.run()
        steady.append(time.perf_counter() - t3)
    return (t1 - t0) * 1e3, (first - sorted(steady)[2]) * 1e3


if __name__ == "__main__":
    imp, comp = jax_time() if sys.argv[1] == "jax" else torch_time()
    print("%.1f %.1f" % (imp, comp))
