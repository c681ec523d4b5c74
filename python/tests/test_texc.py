"""Tests of the texc Python package (make check-python): NumPy always;
PyTorch and JAX where the running Python has them (each skip says so).

The model is compiled once per run into a fresh cache (TEXC_CACHE_DIR);
$TEXC names the compiler."""
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

import texc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = os.path.join(HERE, "model.tex")
HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_JAX = importlib.util.find_spec("jax") is not None


def setUpModule():
    global CACHE, m
    CACHE = tempfile.mkdtemp(prefix="texc-pytest-")
    os.environ["TEXC_CACHE_DIR"] = CACHE
    m = texc.compile(MODEL, grad=["loss", "pair"])


def tearDownModule():
    shutil.rmtree(CACHE, ignore_errors=True)


def data(seed=0, N=6, D=4, K=3):
    r = np.random.default_rng(seed)
    return (r.standard_normal((D, K)), r.standard_normal(K), r.standard_normal((N, D)),
            r.integers(0, K, N).astype(np.int64))


def loss_ref(W, b, x, y):
    z = x @ W + b
    z = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return np.mean(lse - z[np.arange(len(y)), y])


class Metadata(unittest.TestCase):
    def test_abi_version_matches_runtime(self):
        with open(os.path.join(ROOT, "runtime", "texrt.h")) as f:
            v = int(re.search(r"#define TEX_ABI_VERSION (\d+)", f.read()).group(1))
        self.assertEqual(texc.ABI_VERSION, v)

    def test_functions_are_attributes_with_signatures(self):
        self.assertEqual(sorted(m.functions), ["loss", "loss_grad", "pair", "pair_vjp", "pick", "sgd"])
        self.assertEqual(m.loss.__doc__, "loss(W: f64[D, K], b: f64[K], x: f64[N, D], y: i64[N]) -> f64")
        self.assertEqual(m.sgd.__doc__, "sgd(W: inout f32[K], g: f32[K], lr: f32) -> f32")
        self.assertEqual(m.target, "cpu")
        with self.assertRaisesRegex(AttributeError, "no function 'los'.*loss"):
            m.los

    def test_load_existing_so(self):
        m2 = texc.load(m.path)
        self.assertEqual(m2.prefix, "model")
        with self.assertRaisesRegex(ValueError, "prefix"):
            texc.load(m.path, prefix="nomodel")


class Calls(unittest.TestCase):
    def test_values_against_numpy(self):
        W, b, x, y = data()
        v = m.loss(W, b, x, y)
        self.assertIsInstance(v, np.float64)
        self.assertAlmostEqual(v, loss_ref(W, b, x, y), places=12)
        self.assertEqual(m.loss(W=W, b=b, x=x, y=y), v)
        t, s = m.pair(np.linspace(-1, 1, 5), 2.0)
        np.testing.assert_allclose(t, np.tanh(np.linspace(-1, 1, 5)) * 2, rtol=1e-15)

    def test_grad_against_finite_differences(self):
        W, b, x, y = data(1)
        v, dW, db, dx = m.loss_grad(W, b, x, y)
        eps = 1e-6
        for k in [(0, 0), (2, 1), (3, 2)]:
            Wp, Wm = W.copy(), W.copy()
            Wp[k] += eps
            Wm[k] -= eps
            self.assertAlmostEqual(dW[k], (loss_ref(Wp, b, x, y) - loss_ref(Wm, b, x, y)) / (2 * eps), places=8)

    def test_in_place_update(self):
        W = np.ones(3, np.float32)
        r = m.sgd(W, np.full(3, 2, np.float32), 0.5)
        self.assertEqual(r, 12)
        np.testing.assert_array_equal(W, [0, 0, 0])
        with self.assertRaisesRegex(ValueError, "read-only|writ"):
            ro = np.ones(3, np.float32)
            ro.flags.writeable = False
            m.sgd(ro, np.ones(3, np.float32), 0.1)

    def test_fast_and_general_paths_agree(self):
        """Positional contiguous NumPy arrays take the packed fast path;
        keywords, 0-d arrays, read-only or strided inputs the general one."""
        from texc import _fastcall
        W, b, x, y = data(9)
        self.assertIsNot(m.loss._fast((W, b, x, y)), _fastcall.FALLBACK)
        fast = m.loss(W, b, x, y)
        Wr = W.copy()
        Wr.flags.writeable = False
        for v in (m.loss(W=W, b=b, x=x, y=y), m.loss(Wr, b, x, y), m.loss(W, b, np.asarray(x, order="C"), y)):
            self.assertEqual(v, fast)
        self.assertIs(m.loss._fast((W.astype(np.float32), b, x, y)), _fastcall.FALLBACK)
        a = np.linspace(-1, 1, 9)
        for s in (1.5, np.float64(1.5), np.array(1.5), np.float32(1.5)):
            t, q = m.pair(a, s)
            np.testing.assert_array_equal(t, np.tanh(a) * 1.5)
        W32, g = np.ones(3, np.float32), np.full(3, 2, np.float32)
        self.assertEqual(m.sgd(W32, g, 0.25), 12)
        np.testing.assert_array_equal(W32, [0.5, 0.5, 0.5])

    def test_python_scalars_and_lists(self):
        self.assertEqual(m.pair([0.0, 0.0], 1)[1], 0.0)

    def test_errors_name_the_argument(self):
        W, b, x, y = data()
        with self.assertRaises(ValueError) as c:
            m.loss(W, b, np.ascontiguousarray(x[:, :3]), y)
        self.assertEqual(str(c.exception), "model_loss: argument 'x' (#3): dim 1 is 3, but D = 4 (bound by argument 'W' dim 0)")
        self.assertIsInstance(c.exception, texc.Error)
        self.assertEqual(c.exception.status, "TEX_ERR_SHAPE")
        with self.assertRaisesRegex(ValueError, r"argument 'W' \(#1\): expected dtype f64, got f32"):
            m.loss(W.astype(np.float32), b, x, y)
        with self.assertRaisesRegex(ValueError, r"argument 'b' \(#2\).*rank"):
            m.loss(W, b[None], x, y)
        with self.assertRaisesRegex(ValueError, r"argument 'W' \(#1\): non-compact strides.*ascontiguousarray"):
            m.loss(np.asfortranarray(W), b, x, y)
        with self.assertRaisesRegex(IndexError, "out of range"):
            m.pick(np.zeros((4, 2), np.float32), np.array([1, 4], np.int32))
        with self.assertRaisesRegex(TypeError, "missing 'y'"):
            m.loss(W, b, x)
        with self.assertRaisesRegex(TypeError, "no parameter 'z'"):
            m.loss(W, b, x, y, z=1)

    def test_threads_run_calls_concurrently(self):
        """The GIL is released during a call: calls from several threads all
        finish, with the same result."""
        W, b, x, y = data(2, N=2000, D=256, K=64)
        want = m.loss(W, b, x, y)
        got = []
        ts = [threading.Thread(target=lambda: got.append(m.loss(W, b, x, y))) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(got, [want] * 4)

    def test_set_num_threads(self):
        m.set_num_threads(1)
        with self.assertRaisesRegex(ValueError, "thread"):
            m.set_num_threads(0)


class Compile(unittest.TestCase):
    def test_second_compile_is_cached(self):
        t0 = time.perf_counter()
        m2 = texc.compile(MODEL, grad=["loss", "pair"])
        self.assertLess(time.perf_counter() - t0, 0.05)
        self.assertEqual(m2.path, m.path)

    def test_changed_import_recompiles(self):
        d = tempfile.mkdtemp(prefix="texc-imp-")
        try:
            with open(os.path.join(d, "lib1.tex"), "w") as f:
                f.write("fn k() -> f32 {\n    return 1.0\n}\n")
            with open(os.path.join(d, "main.tex"), "w") as f:
                f.write("import lib1\n\nfn g(x: f32) -> f32 {\n    return x + lib1.k()\n}\n")
            self.assertEqual(texc.compile(os.path.join(d, "main.tex")).g(1.0), 2.0)
            with open(os.path.join(d, "lib1.tex"), "w") as f:
                f.write("fn k() -> f32 {\n    return 5.0\n}\n")
            self.assertEqual(texc.compile(os.path.join(d, "main.tex")).g(1.0), 6.0)
        finally:
            shutil.rmtree(d)

    def test_compile_error_shows_diagnostics(self):
        d = tempfile.mkdtemp(prefix="texc-bad-")
        try:
            p = os.path.join(d, "bad.tex")
            with open(p, "w") as f:
                f.write("fn f(a: f32[N]) -> f32[N] {\n    return aa\n}\n")
            with self.assertRaisesRegex(texc.CompileError, r"unknown name 'aa'; did you mean 'a'\?[\s\S]*\^"):
                texc.compile(p)
        finally:
            shutil.rmtree(d)


@unittest.skipUnless(HAVE_TORCH, "PyTorch is not installed for %s" % sys.executable)
class Torch(unittest.TestCase):
    def test_tensors_in_tensors_out(self):
        import torch
        W, b, x, y = (torch.from_numpy(a) for a in data())
        v = m.loss(W, b, x, y)
        self.assertIsInstance(v, torch.Tensor)
        self.assertAlmostEqual(v.item(), loss_ref(*data()), places=12)

    def test_gradcheck_scalar_and_vjp(self):
        import torch
        loss = texc.torch.function(m.loss)
        W, b, x, y = (torch.from_numpy(a) for a in data(3))
        W.requires_grad_(True)
        b.requires_grad_(True)
        x.requires_grad_(True)
        self.assertTrue(torch.autograd.gradcheck(lambda W, b, x: loss(W, b, x, y), (W, b, x)))
        pair = texc.torch.function(m.pair)
        a = torch.linspace(-1, 1, 7, dtype=torch.float64, requires_grad=True)
        s = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda a, s: pair(a, s), (a, s)))

    def test_trains_with_an_optimiser(self):
        import torch
        loss = texc.torch.function(m.loss)
        W0, b0, x, y = data(4, N=64)
        W = torch.nn.Parameter(torch.from_numpy(W0.copy()))
        b = torch.nn.Parameter(torch.from_numpy(b0.copy()))
        opt = torch.optim.SGD([W, b], lr=0.5)
        first = None
        for _ in range(30):
            opt.zero_grad()
            lv = loss(W, b, torch.from_numpy(x), torch.from_numpy(y))
            lv.backward()
            opt.step()
            first = first if first is not None else lv.item()
        self.assertLess(lv.item(), 0.8 * first)

    @unittest.skipUnless(HAVE_TORCH and hasattr(__import__("torch").library, "custom_op"),
                         "torch.compile of a torch.library custom op needs PyTorch >= 2.4 (make test-torch2)")
    def test_torch_compile_keeps_one_op(self):
        import torch
        loss = texc.torch.function(m.loss)
        W, b, x, y = (torch.from_numpy(a) for a in data(8))
        W.requires_grad_(True)

        def step(W, b, x, y):  # Inductor's own kernels may sum in another order: keep them exact
            return torch.relu(loss(W, b, x, y) * 2.0)

        eager = step(W, b, x, y)
        eager.backward()
        g, W.grad = W.grad.clone(), None
        compiled = torch.compile(step, fullgraph=True)(W, b, x, y)  # fullgraph: no graph break allowed
        compiled.backward()
        self.assertEqual(compiled.item(), eager.item())
        self.assertTrue(torch.equal(W.grad, g))

    def test_errors(self):
        import torch
        W, b, x, y = (torch.from_numpy(a) for a in data())
        with self.assertRaisesRegex(ValueError, r"argument 'W' \(#1\): expected a CPU tensor"):
            m.loss(torch.empty(4, 3, dtype=torch.float64, device="meta"), b, x, y)
        with self.assertRaisesRegex(ValueError, r"argument 'W' \(#1\): non-compact strides"):
            m.loss(W.t().contiguous().t(), b, x, y)
        with self.assertRaisesRegex(ValueError, "compile it with grad=\\['sgd'\\]|in place"):
            texc.torch.function(m.sgd)
        with self.assertRaisesRegex(ValueError, "compile it with grad=\\['pick'\\]"):
            texc.torch.function(m.pick)


@unittest.skipUnless(HAVE_JAX, "JAX is not installed for %s" % sys.executable)
class Jax(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import jax
        jax.config.update("jax_enable_x64", True)

    def test_jit_grad_against_compiled_grad(self):
        import jax
        import jax.numpy as jnp
        loss = texc.jax.function(m.loss)
        W, b, x, y = data(5)
        g = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(jnp.asarray(W), jnp.asarray(b), jnp.asarray(x), jnp.asarray(y))
        v, dW, db, dx = m.loss_grad(W, b, x, y)
        for got, want in zip(g, (dW, db, dx)):
            np.testing.assert_array_equal(np.asarray(got), want)
        self.assertIsInstance(m.loss(jnp.asarray(W), jnp.asarray(b), jnp.asarray(x), jnp.asarray(y)), jax.Array)

    def test_check_grads(self):
        from jax.test_util import check_grads
        loss = texc.jax.function(m.loss)
        W, b, x, y = data(6)
        check_grads(lambda W, b, x: loss(W, b, x, y), (W, b, x), order=1, modes=["rev"])
        pair = texc.jax.function(m.pair)
        check_grads(lambda a, s: pair(a, s), (np.linspace(-1, 1, 5), 1.5), order=1, modes=["rev"])

    def test_vmap_runs_per_element(self):
        import jax
        loss = texc.jax.function(m.loss)
        W, b, x, y = data(7)
        got = jax.vmap(loss, in_axes=(None, None, 0, 0))(W, b, np.stack([x, x[::-1]]), np.stack([y, y[::-1]]))
        np.testing.assert_allclose(np.asarray(got), [loss_ref(W, b, x, y)] * 2, rtol=1e-13)

    def test_errors(self):
        import jax
        import jax.numpy as jnp
        with self.assertRaisesRegex(ValueError, "immutable"):
            m.sgd(jnp.ones(3, jnp.float32), np.ones(3, np.float32), 0.1)
        mw = texc.compile(MODEL, grad=["loss"], wrt=["W"])
        loss = texc.jax.function(mw.loss)
        W, b, x, y = data()
        with self.assertRaisesRegex(ValueError, "no gradient for 'b'"):
            jax.grad(loss, argnums=1)(W, b, x, y)
        jax.grad(loss)(W, b, x, y)


if __name__ == "__main__":
    unittest.main()
