"""Loading a texc-compiled .so and calling its functions."""
import ctypes as C
import os
import re

from . import _arrays, _fastcall
from ._abi import ABI_VERSION, DIM_SYM, DTYPE_NAMES, STATUS_NAMES, DLTensor, TexModuleInfo, dim_code, dim_eval


class Error(Exception):
    """A failed call of a compiled function.  code is the TexStatus number,
    status its name (TEX_ERR_SHAPE); the message is the runtime's own.  Each
    error is also an instance of the matching built-in exception (ValueError
    for a wrong argument, IndexError for a subscript out of range, ...)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code
        self.status = STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else "TEX_STATUS_%d" % code


_BUILTIN_OF = {"TEX_ERR_INDEX": IndexError, "TEX_ERR_ALLOC": MemoryError, "TEX_ERR_OVERFLOW": OverflowError,
               "TEX_ERR_CPU": RuntimeError, "TEX_ERR_CUDA": RuntimeError, "TEX_ERR_MAXITER": RuntimeError,
               "TEX_ERR_NAN": FloatingPointError}
_classes = {}


def error(message, code):
    """An Error that is also the built-in exception of its status."""
    status = STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else None
    base = _BUILTIN_OF.get(status, ValueError)
    cls = _classes.get(base)
    if cls is None:
        cls = _classes[base] = type("Error" if base is ValueError else "Error_" + base.__name__, (Error, base), {})
        cls.__module__ = "texc"
    return cls(message, code)


class Param:
    """One parameter as the metadata gives it: name, dtype name ("f32"),
    role ("in", "out", "inout") and dims (postfix dim words)."""

    def __init__(self, p, sym_names):
        self.name = p.name.decode()
        self.dtype = p.dtype
        self.role = ("in", "out", "inout")[p.role]
        self.dims = [dim_code(p.dims[i]) for i in range(p.rank)]
        self._sym_names = sym_names

    def type_text(self):
        return "%s[%s]" % (DTYPE_NAMES[self.dtype], ", ".join(_dim_text(c, self._sym_names) for c in self.dims)) \
            if self.dims else DTYPE_NAMES[self.dtype]


def _dim_text(code, names):
    return str(dim_eval(code, [_Sym(n) for n in names]))


class _Sym:
    """A symbol in dim_eval for printing: builds "N + 1" text."""

    def __init__(self, text, prec=3):
        self.text, self.prec = text, prec

    def __str__(self):
        return self.text

    def _op(self, other, sym, prec, swap=False):
        def wrap(v):
            t = str(v)
            return "(%s)" % t if isinstance(v, _Sym) and v.prec < prec else t
        a, b = (other, self) if swap else (self, other)
        return _Sym("%s %s %s" % (wrap(a), sym, wrap(b)), prec)

    def __add__(self, o): return self._op(o, "+", 1)
    def __radd__(self, o): return self._op(o, "+", 1, True)
    def __sub__(self, o): return self._op(o, "-", 1)
    def __rsub__(self, o): return self._op(o, "-", 1, True)
    def __mul__(self, o): return self._op(o, "*", 2)
    def __rmul__(self, o): return self._op(o, "*", 2, True)
    def __floordiv__(self, o): return self._op(o, "//", 2)
    def __rfloordiv__(self, o): return self._op(o, "//", 2, True)
    def __mod__(self, o): return self._op(o, "%", 2)
    def __rmod__(self, o): return self._op(o, "%", 2, True)


class Function:
    """A compiled function: call it with arrays (positional or by name).
    Inputs pass without copies; outputs are made in the framework of the
    first array argument (NumPy, PyTorch or JAX).  Returns the single
    output, or a tuple of them; inout parameters are updated in place."""

    def __init__(self, module, info, index):
        self.module = module
        self.name = info.name.decode()
        self.symbol = info.symbol.decode()
        self.sym_names = [info.sym_names[i].decode() for i in range(info.nsyms)]
        self.params = [Param(info.params[i], self.sym_names) for i in range(info.nparams)]
        self.inputs = [p for p in self.params if p.role != "out"]
        self.outputs = [p for p in self.params if p.role == "out"]
        self._c = getattr(module._lib, self.symbol)
        self._c.restype = C.c_int
        self._c.argtypes = [C.POINTER(DLTensor)] * info.nparams
        self._fast = _fastcall.FastCall(self, index, module._call, self._fail)
        self.__doc__ = "%s(%s) -> %s" % (self.name, ", ".join("%s: %s%s" % (p.name, "inout " if p.role == "inout" else "",
                                                                              p.type_text()) for p in self.inputs),
                                         ", ".join(p.type_text() for p in self.outputs))

    def __repr__(self):
        return "<texc function %s from %s>" % (self.__doc__, self.module.path)

    def arguments(self, args, kwargs):
        """The inputs in ABI order from positional and keyword arguments."""
        n = len(self.inputs)
        if len(args) > n:
            raise TypeError("%s() takes %d arguments but %d were given" % (self.name, n, len(args)))
        vals = list(args) + [None] * (n - len(args))
        given = [True] * len(args) + [False] * (n - len(args))
        for k, v in kwargs.items():
            i = next((i for i, p in enumerate(self.inputs) if p.name == k), None)
            if i is None:
                raise TypeError("%s() has no parameter '%s'" % (self.name, k))
            if given[i]:
                raise TypeError("%s() got two values for '%s'" % (self.name, k))
            vals[i], given[i] = v, True
        missing = [p.name for p, g in zip(self.inputs, given) if not g]
        if missing:
            raise TypeError("%s() is missing %s" % (self.name, ", ".join("'%s'" % m for m in missing)))
        return vals

    def bind(self, shapes):
        """The size symbols' values from the inputs' shapes (every symbol is
        some input dim of its own: the compiler requires it).  The runtime
        checks every dim again."""
        syms = [None] * len(self.sym_names)
        for p, shape in zip(self.inputs, shapes):
            for code, extent in zip(p.dims, shape):
                if len(code) == 2 and code[0] == DIM_SYM and syms[code[1]] is None:
                    syms[code[1]] = extent
        return syms

    def output_shapes(self, shapes):
        """The outputs' shapes for inputs of these shapes.  A symbol no input
        could bind (an input of the wrong rank) counts as 0: the runtime then
        reports that input, before it looks at any output."""
        syms = [0 if v is None else v for v in self.bind(shapes)]
        return [tuple(dim_eval(c, syms) for c in p.dims) for p in self.outputs]

    def _check_writable(self, p, v):
        fw = _arrays.framework_of(v)
        why = "JAX arrays are immutable" if fw == "jax" else \
            "the array is read-only" if fw == "numpy" and not v.flags.writeable else \
            None if fw in ("numpy", "torch") else "a %s cannot be written" % type(v).__name__
        if why:
            raise ValueError("%s: argument '%s' (#%d) is updated in place, but %s; pass a writable NumPy array "
                             "or PyTorch tensor" % (self.symbol, p.name, self.inputs.index(p) + 1, why))

    def _fail(self, rc):
        raise error(self.module._last_error().decode(errors="replace"), rc)

    def __call__(self, *args, **kwargs):
        if not kwargs:
            res = self._fast(args)
            if res is not _fastcall.FALLBACK:
                return res
        vals = self.arguments(args, kwargs)
        fw, like = None, None
        for v in vals:
            fw = _arrays.framework_of(v)
            if fw:
                like = v
                break
        for p, v in zip(self.inputs, vals):
            if p.role == "inout":
                self._check_writable(p, v)
        outs = [_arrays.new_output(fw, s, p.dtype, like)
                for p, s in zip(self.outputs, self.output_shapes([_arrays.shape_of(v) for v in vals]))]
        keep = []
        tensors = [_arrays.to_dltensor(v, p, keep) for p, v in zip(self.inputs, vals)]
        tensors += [_arrays.to_dltensor(o, p, keep) for p, o in zip(self.outputs, outs)]
        rc = self._c(*[C.byref(t) for t in tensors])
        if rc:
            self._fail(rc)
        res = tuple(_arrays.finish_output(fw, o) for o in outs)
        return res[0] if len(res) == 1 else res


class Module:
    """A loaded .so: its functions are attributes (m.loss), also listed in
    m.functions.  path, prefix, source, target and cpu come from its metadata."""

    def __init__(self, path, prefix=None):
        path = os.path.abspath(path)
        if prefix is None:
            m = re.match(r"lib(.+)\.so$", os.path.basename(path))
            if not m:
                raise ValueError("texc.load: cannot tell the symbol prefix from the name %s; pass prefix="
                                 % os.path.basename(path))
            prefix = m.group(1)
        self.path, self.prefix = path, prefix
        self._lib = C.CDLL(path)
        try:
            info_fn = getattr(self._lib, prefix + "_module_info")
        except AttributeError:
            raise ValueError("texc.load: %s has no %s_module_info: not a texc module, or its prefix is not '%s'"
                             % (path, prefix, prefix)) from None
        info_fn.restype = C.POINTER(TexModuleInfo)
        info = info_fn().contents
        if info.abi_version != ABI_VERSION:
            raise ValueError("texc.load: %s has runtime ABI version %d, this package reads version %d; "
                             "recompile it with the matching texc" % (path, info.abi_version, ABI_VERSION))
        self._last_error = getattr(self._lib, prefix + "_last_error")
        self._last_error.restype = C.c_char_p
        self._set_threads = getattr(self._lib, prefix + "_set_num_threads")
        self._set_threads.argtypes = [C.c_int]
        self._call = getattr(self._lib, prefix + "_call")
        self._call.argtypes = [C.c_int, C.c_void_p]
        self._call.restype = C.c_int
        self.source = info.source.decode()
        self.target = info.target.decode()
        self.cpu = info.cpu.decode()
        self.functions = {}
        for i in range(info.nfuncs):
            f = Function(self, info.funcs[i], i)
            self.functions[f.name] = f

    def __getattr__(self, name):
        fns = self.__dict__.get("functions", {})
        if name in fns:
            return fns[name]
        raise AttributeError("texc module %s has no function '%s' (it has: %s)"
                             % (self.__dict__.get("prefix"), name, ", ".join(sorted(fns))))

    def __dir__(self):
        return list(super().__dir__()) + list(self.functions)

    def __repr__(self):
        return "<texc module %s (%s) from %s: %s>" % (self.prefix, self.target, self.path,
                                                      ", ".join(self.functions))

    def set_num_threads(self, n):
        """This module's thread count (1..256)."""
        rc = self._set_threads(int(n))
        if rc:
            raise error(self._last_error().decode(errors="replace"), rc)


def load(path, prefix=None):
    """Loads a texc-compiled .so (lib<prefix>.so, or give prefix=)."""
    return Module(path, prefix)

