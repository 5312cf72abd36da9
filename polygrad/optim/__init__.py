"""polygrad.optim: optimizers and learning-rate schedulers that match ``torch.optim`` step for step.

Import it as ``import polygrad.optim as optim``. Every update is array arithmetic through each
parameter's own backend namespace, records no graph, and changes arrays in place where the
backend allows (see :mod:`polygrad.optim.optimizer`).

Examples
--------
>>> import polygrad
>>> import polygrad.optim as optim
>>> w = polygrad.tensor([2.0, -3.0], requires_grad=True)
>>> opt = optim.Adam([w], lr=0.5)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
>>> for _ in range(50):
...     opt.zero_grad()
...     loss = (w * w).sum()
...     loss.backward()
...     opt.step()
...     sched.step()
>>> bool(loss.item() < 0.1)
True
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Adadelta",
    "Adagrad",
    "Adamax",
    "NAdam",
    "RAdam",
    "RMSprop",
    "LBFGS",
    "lr_scheduler",
]
