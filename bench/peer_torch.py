"""PyTorch peer for `make bench`: the MLP training step of bench/mlp.tex
(784-512-512-10, ReLU, softmax cross-entropy, SGD), batch 256, on the CPU
with the same number of threads as texc (1).  Prints the median ms."""
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N, D, H, K = 256, 784, 512, 10
g = torch.Generator().manual_seed(1)
params = [torch.empty(s).uniform_(-0.05, 0.05, generator=g).requires_grad_()
          for s in [(D, H), (H,), (H, H), (H,), (H, K), (K,)]]
x = torch.empty(N, D).uniform_(-0.05, 0.05, generator=g)
y = torch.nn.functional.one_hot(torch.randint(0, K, (N,), generator=g), K).float()


def step(lr=0.01):
    W1, b1, W2, b2, W3, b3 = params
    h1 = torch.relu(x @ W1 + b1)
    h2 = torch.relu(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    loss = -(y * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss


step()
times = []
for _ in range(20):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(f"{times[len(times) // 2]:.4f}")
