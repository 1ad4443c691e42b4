COMMENT
Exp2Syn with the Jahr-Stevens (1990) Mg2+ block, as jaxneuro's NMDA receptor
(jaxneuro/models/_receptors.py; reference/dendritic_neuron.md section 1):

    g = (B - A) * B(V),   B(V) = 1 / (1 + exp(-mg_slope*V) * mg/3.57)
    A' = -A/tau1,   B' = -B/tau2,   each event adds weight*factor to A and B

with factor chosen so that one event of weight w peaks at w (uS) with the block removed
(NEURON's Exp2Syn normalisation). With mg = 0 it is exactly Exp2Syn.
ENDCOMMENT

NEURON {
    POINT_PROCESS JnExp2NMDA
    RANGE tau1, tau2, e, i, g, mg, mg_slope
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
    (mM) = (milli/liter)
}

PARAMETER {
    tau1 = 2 (ms) <1e-9,1e9>
    tau2 = 70 (ms) <1e-9,1e9>
    e = 0 (mV)
    mg = 1 (mM)
    mg_slope = 0.08 (/mV)
}

ASSIGNED {
    v (mV)
    i (nA)
    g (uS)
    factor
}

STATE {
    A (uS)
    B (uS)
}

INITIAL {
    LOCAL tp
    if (tau1/tau2 > 0.9999) {
        tau1 = 0.9999*tau2
    }
    if (tau1/tau2 < 1e-9) {
        tau1 = tau2*1e-9
    }
    A = 0
    B = 0
    tp = (tau1*tau2)/(tau2 - tau1) * log(tau2/tau1)
    factor = -exp(-tp/tau1) + exp(-tp/tau2)
    factor = 1/factor
}

BREAKPOINT {
    SOLVE state METHOD cnexp
    g = (B - A) * mgblock(v)
    i = g*(v - e)
}

DERIVATIVE state {
    A' = -A/tau1
    B' = -B/tau2
}

UNITSOFF
FUNCTION mgblock(v (mV)) {
    mgblock = 1 / (1 + exp(-mg_slope*v) * (mg/3.57))
}
UNITSON

NET_RECEIVE(weight (uS)) {
    A = A + weight*factor
    B = B + weight*factor
}
