"""What the framework integrations share: a function's derivative as texc
exported it (NAME_grad for a scalar result, NAME_vjp otherwise) and which
input each gradient belongs to."""


class Derivative:
    """f's exported derivative.  scalar: NAME_grad(inputs) -> value, d_P...;
    else NAME_vjp(inputs, cotangents) -> values, d_P...  grads_of names
    the input of each gradient output, in order."""

    def __init__(self, f):
        m = f.module
        if any(p.role == "inout" for p in f.inputs):
            raise ValueError("%s updates its parameters in place and cannot be differentiated" % f.symbol)
        self.f = f
        self.fn = m.functions.get(f.name + "_grad") or m.functions.get(f.name + "_vjp")
        if self.fn is None:
            raise ValueError("%s has no derivative in %s: compile it with grad=['%s'] (texc --grad %s)"
                             % (f.symbol, m.path, f.name, f.name))
        self.scalar = self.fn.name.endswith("_grad")
        self.nvalues = len(f.outputs)
        names = [p.name for p in self.fn.outputs[self.nvalues:]]
        self.grads_of = [n[2:] for n in names]
        self.index = {p.name: i for i, p in enumerate(f.inputs)}

    def grads(self, res):
        """{input name: gradient} from the derivative's results."""
        res = res if isinstance(res, tuple) else (res,)
        return dict(zip(self.grads_of, res[self.nvalues:]))

    def input_grads(self, grads, needed):
        """One gradient per input of f: None where not needed; an input that
        needs one the module was not compiled for is an error."""
        out = []
        for i, p in enumerate(self.f.inputs):
            if not needed[i]:
                out.append(None)
            elif p.name not in grads:
                raise self.missing(i)
            else:
                out.append(grads[p.name])
        return tuple(out)

    def missing(self, i):
        """The error for asking the gradient of input i, which was not compiled."""
        p = self.f.inputs[i]
        return ValueError("%s: no gradient for '%s': the module was compiled with gradients for %s only (wrt=)"
                          % (self.f.symbol, p.name, ", ".join(self.grads_of) or "no parameter"))


def callable_of(f, run):
    """A Python function taking f's arguments (positional or by name) and
    calling run with them in ABI order; it carries f's signature text."""
    def call(*args, **kwargs):
        return run(*f.arguments(args, kwargs))

    call.__doc__ = f.__doc__
    call.__name__ = f.name
    call.texc_function = f
    return call
