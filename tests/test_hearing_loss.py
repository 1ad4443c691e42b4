"""Outer-hair-cell hearing loss: audiogram → starting poles of the TL cochlea
(``shared/reference/auditory_periphery.md`` §9; Verhulst, Altoè & Vasilkov 2018)."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuro.models.auditory import (
    AUDIOGRAMS,
    MiddleEar,
    TransmissionLineCochlea,
    filter_gain_table,
    poles,
    poles_for_audiogram,
)
from jaxneuro.models.auditory import cochlea as tl
from jaxneuro.models.auditory import hearing_loss as hl
from jaxneuro.stimuli import pure_tone

CF = tl.characteristic_frequencies()
NORMAL = poles.normal_hearing_poles(CF)


@pytest.mark.parametrize("name", sorted(AUDIOGRAMS))
def test_presets_raise_poles_only_where_there_is_loss(name):
    alpha = poles_for_audiogram(name, warn=False)
    assert alpha.shape == (1001,)
    assert np.all(alpha >= NORMAL) and np.all(alpha <= poles.ALPHA_E)
    if name.startswith("slope"):
        below = CF <= 1000.0
        np.testing.assert_array_equal(alpha[below], NORMAL[below])
        hl_ = (CF > 1100.0) & (np.arange(1001) > 0)  # node 0 (stapes) keeps its pole
        assert np.all(alpha[hl_] > NORMAL[hl_])
    else:
        assert np.all(alpha[1:] > NORMAL[1:])
    # the requested loss is realised by the gain table where representable
    table = filter_gain_table(hl.ALPHA_GRID)
    g = lambda a: hl._interp_rows(a, hl.ALPHA_GRID, table)  # noqa: E731
    target = hl.audiogram_db_hl(name, CF)
    ok = (target < hl.max_loss_db() - 0.1) & (CF > 100.0)
    np.testing.assert_allclose((g(NORMAL) - g(alpha))[ok], target[ok], atol=0.05)


def test_gain_table_and_max_representable_loss():
    table = filter_gain_table([0.04, 0.0609, 0.2, poles.ALPHA_E])
    assert table.shape == (4, 1001)
    # gain falls as the pole rises (section 600, CF 996 Hz)
    assert np.all(np.diff(table[:, 600]) < 0)
    ml = hl.max_loss_db()
    secs = tl.nearest_sections([500.0, 1000.0, 4000.0, 8000.0])
    # measured: 22.8, 26.7, 33.9, 36.6 dB at 0.5, 1, 4, 8 kHz (V18: "about 35 dB")
    print("max representable loss [dB] at 0.5/1/4/8 kHz:", ml[list(secs)].round(1))
    assert ml[list(secs)] == pytest.approx([22.8, 26.7, 33.9, 36.6], abs=0.5)
    assert 30.0 < ml[(CF > 2000) & (CF < 12000)].mean() < 40.0


def test_losses_beyond_the_maximum_are_capped():
    with pytest.warns(UserWarning, match="capped"):
        alpha = poles_for_audiogram(((1000.0, 60.0),))
    np.testing.assert_array_equal(alpha[1:], poles.ALPHA_E)
    alpha35 = poles_for_audiogram("flat35", warn=False)  # beyond the ≈ 27 dB max at 1 kHz
    s = tl.nearest_sections([500.0, 8000.0])  # max loss 22.8, 36.6 dB
    assert alpha35[s[0]] == poles.ALPHA_E and alpha35[s[1]] < poles.ALPHA_E
    with pytest.raises(ValueError, match="audiogram"):
        poles_for_audiogram("flat99")
    with pytest.raises(ValueError, match="audiogram"):
        poles_for_audiogram(((0.0, 10.0),))


@pytest.mark.filterwarnings("ignore:poles_for_audiogram")  # capped below ≈ 400 Hz
def test_flat25_attenuates_a_quiet_tone_by_about_25_db():
    me = MiddleEar()
    x = pure_tone(30.0, 0.01, 1000.0, 10.0)
    pm = me.init()
    p_me = me.apply(pm, x)[0]["pressure_me"]

    def rms(starting_poles):
        coch = TransmissionLineCochlea(sections=(600,), starting_poles=starting_poles)
        v = coch.apply(coch.init(), p_me)[0]["v_bm"]
        return float(jnp.sqrt(jnp.mean(v[-1000:] ** 2)))

    normal, impaired = rms(None), rms(poles_for_audiogram("flat25"))
    drop = 20 * np.log10(normal / impaired)
    print(f"flat25, 1 kHz 10 dB SPL, section 600: {drop:.2f} dB below normal hearing")
    # measured: 24.84 dB (float32 default, n_substeps=1)
    assert drop == pytest.approx(25.0, abs=5.0)
