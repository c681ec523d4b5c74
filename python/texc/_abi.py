"""The runtime ABI of a texc-compiled .so (runtime/texrt.h), for ctypes.

Only what a caller sees: DLPack's DLTensor, the module metadata returned by
<prefix>_module_info(), the status codes and the dim-expression bytecode.
ABI_VERSION must equal TEX_ABI_VERSION in runtime/texrt.h (a test checks it)."""
import ctypes as C

ABI_VERSION = 9


class DLDevice(C.Structure):
    _fields_ = [("device_type", C.c_int), ("device_id", C.c_int32)]


class DLDataType(C.Structure):
    _fields_ = [("code", C.c_uint8), ("bits", C.c_uint8), ("lanes", C.c_uint16)]


class DLTensor(C.Structure):
    _fields_ = [("data", C.c_void_p), ("device", DLDevice), ("ndim", C.c_int32),
                ("dtype", DLDataType), ("shape", C.POINTER(C.c_int64)),
                ("strides", C.POINTER(C.c_int64)), ("byte_offset", C.c_uint64)]


class TexDimExpr(C.Structure):
    _fields_ = [("code", C.POINTER(C.c_int64)), ("len", C.c_int32)]


class TexParamInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_uint8), ("role", C.c_uint8),
                ("rank", C.c_uint16), ("dims", C.POINTER(TexDimExpr))]


class TexFuncInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("symbol", C.c_char_p), ("nparams", C.c_int32),
                ("ninputs", C.c_int32), ("params", C.POINTER(TexParamInfo)),
                ("nsyms", C.c_int32), ("sym_names", C.POINTER(C.c_char_p)),
                ("nasserts", C.c_int32), ("asserts", C.POINTER(TexDimExpr)),
                ("assert_notes", C.POINTER(C.c_char_p))]


class TexModuleInfo(C.Structure):
    _fields_ = [("abi_version", C.c_uint32), ("prefix", C.c_char_p), ("source", C.c_char_p),
                ("texc_version", C.c_char_p), ("target", C.c_char_p), ("cpu", C.c_char_p),
                ("cpu_features", C.c_char_p), ("nfuncs", C.c_int32),
                ("funcs", C.POINTER(TexFuncInfo))]


# TexDType order and each one's name and DLPack (code, bits); DLPack codes:
# 0 int, 1 uint, 2 float, 6 bool.  bool travels as one byte.
DTYPE_NAMES = ["f32", "f64", "i32", "i64", "bool"]
DL_TYPES = [(2, 32), (2, 64), (0, 32), (0, 64), (1, 8)]
KDLCPU, KDLCUDA = 1, 2

DIM_LIT, DIM_SYM, DIM_ADD, DIM_SUB, DIM_MUL, DIM_FLOORDIV, DIM_MOD, DIM_MIN, DIM_MAX, DIM_EQ, DIM_LE = range(11)
ROLE_IN, ROLE_OUT, ROLE_INOUT = range(3)

# TexStatus, in runtime/texrt.h's order (TEX_STATUS_LIST).
STATUS_NAMES = ["TEX_OK", "TEX_ERR_NULL", "TEX_ERR_DTYPE", "TEX_ERR_RANK", "TEX_ERR_SHAPE", "TEX_ERR_LAYOUT",
                "TEX_ERR_DEVICE", "TEX_ERR_ALIAS", "TEX_ERR_INDEX", "TEX_ERR_ALLOC", "TEX_ERR_OVERFLOW",
                "TEX_ERR_CPU", "TEX_ERR_CUDA", "TEX_ERR_ASSERT", "TEX_ERR_TRIP", "TEX_ERR_MAXITER", "TEX_ERR_ARG"]

_BINOPS = {
    DIM_ADD: lambda a, b: a + b,
    DIM_SUB: lambda a, b: a - b,
    DIM_MUL: lambda a, b: a * b,
    DIM_FLOORDIV: lambda a, b: a // b if b else 0,
    DIM_MOD: lambda a, b: a % b if b else 0,
    DIM_MIN: min,
    DIM_MAX: max,
    DIM_EQ: lambda a, b: int(a == b),
    DIM_LE: lambda a, b: int(a <= b),
}


def dim_code(e):
    """A TexDimExpr's postfix words as a tuple of ints."""
    return tuple(e.code[i] for i in range(e.len))


def dim_eval(code, syms):
    """Evaluates postfix dim words over the symbols' values (ints, or
    anything with + - * // % such as torch.SymInt)."""
    stack, i = [], 0
    while i < len(code):
        op = code[i]
        i += 1
        if op in (DIM_LIT, DIM_SYM):
            w = code[i]
            i += 1
            stack.append(w if op == DIM_LIT else syms[w])
            continue
        b, a = stack.pop(), stack.pop()
        stack.append(_BINOPS[op](a, b))
    return stack[-1]
