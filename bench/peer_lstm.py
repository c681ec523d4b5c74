"""Peak memory of the LSTM case of `make bench` (issue 10): texc's
bench/lstm.tex gradient (with and without checkpoint=7) and PyTorch's
nn.LSTM loss + backward() (sys_torch.LSTM), each in a fresh process.  The
timings and output checks of the same case are in the main table
(driver.py, case "lstm").

    peer_lstm.py OUTDIR WHO   one call in this fresh process; prints the
                              growth of its peak RSS in bytes and texc's
                              workspace bytes (WHO: texc, texc_ck, torch)"""
import ctypes as C
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402


def peak(outdir, who):
    """Peak-RSS growth of one call (the first) in this fresh process."""
    inputs = common.lstm_inputs()
    ws = C.c_size_t()
    if who == "torch":
        import torch
        import sys_torch
        torch.set_num_threads(1)
        # one-time set-up (thread pools, kernel dispatch) on a batch of 2 first
        small = dict(inputs, h0=inputs["h0"][:2].copy(), c0=inputs["c0"][:2].copy(), x=inputs["x"][:, :2].copy(),
                     y=inputs["y"][:, :2].copy())
        sys_torch.LSTM(small, torch.float32).grad()
        run = sys_torch.LSTM(inputs, torch.float32).grad
    else:
        import sys_texc
        f = sys_texc.Texc(outdir, "liblstm.so", "lstm", "loss_grad" if who == "texc" else "loss_ck_grad", inputs,
                          lambda a, slot: a)
        sym = getattr(f.mod.lib, f.symbol + "_workspace_size")
        sym.restype = C.c_int
        if sym(*f.args, C.byref(ws)) != 0:
            raise RuntimeError("workspace_size failed")
        run = f.run
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024, ws.value)


if __name__ == "__main__":
    peak(sys.argv[1], sys.argv[2])
