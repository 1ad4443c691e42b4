"""Flax surrogates: learned stand-ins for analytical models, behind the same Simulator protocol."""

from ._base import Autoregressive as Autoregressive
from ._base import Scaling as Scaling
from ._base import Surrogate as Surrogate
from ._base import logits_name as logits_name
from ._cnn_lstm import CNNLSTM as CNNLSTM
from ._elm import ELM as ELM
from ._encoder_decoder import ConvEncoderDecoder as ConvEncoderDecoder
from ._mlp import CIRCUIT_FEATURES as CIRCUIT_FEATURES
from ._mlp import CIRCUIT_STATISTICS as CIRCUIT_STATISTICS
from ._mlp import MLP as MLP
from ._registered import DEFAULT_TEACHER as DEFAULT_TEACHER
from ._registered import Pretrained as Pretrained
from ._registered import on_teacher as on_teacher
from ._tcn import TCN as TCN
