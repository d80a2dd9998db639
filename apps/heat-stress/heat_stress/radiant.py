"""Mean radiant temperature of a standing person: SOLWEIG's fluxes, RayMan's body.

The radiation a person absorbs is summed over six directions — up, down and four sides —
with the angular factors of a standing person, 0.06 up and down and 0.22 for each side, as
in SOLWEIG (Lindberg, Holmer & Thorsson 2008, Int J Biometeorol 52:697–713):

    S_str = ζk (Σ F_i K_i + f_p I s) + εp Σ F_i L_i        Tmrt = (S_str / (εp σ))^¼ − 273.15

with ζk = 0.70 (shortwave absorption) and εp = 0.97 (longwave). The direct beam I (W/m²
normal to the sun) reaches the person only when the cell is sunlit (s) and acts on the
projected area of a standing body, f_p = 0.308 cos(η (1 − η²/48402)) for a sun η degrees
high (VDI 3787 Part 2 (2008) after Fanger (1970); the form RayMan uses, Matzarakis, Rutz &
Mayer 2007, 2010). The fluxes K_i and L_i carry everything else, split by what each direction
sees — sky (its sky view factor), walls (what the buildings hide of the sky) and ground:

    from above   K↓ = D ψ + αw (1 − ψ) Gw                L↓ = ψ Lsky + (1 − ψ) Lw
    from below   K↑ = αg (I sin η s + K↓)                L↑ = εg σ Tg⁴ + (1 − εg) L↓
    each side    K_i = D ψ_i + αw (½ − ψ_i) Gw + ½ K↑    L_i = ψ_i Lsky + (½ − ψ_i) Lw + ½ L↑

ψ is the sky view factor of a horizontal surface, ψ_i that of a vertical one facing side i
(at most ½: it sees half the sky vault at best, and the ground fills its lower half). The
sky's longwave is Lsky = εsky σ Ta⁴ with the clear-sky emissivity of Brutsaert (1975),
εsky = 1.24 (ea/Ta)^(1/7), ea in hPa from the Magnus formula. Walls emit at Tw = Ta +
``wall_excess_c`` with emissivity εw = 0.90 and reflect the rest of the sky's longwave. The
shortwave the walls reflect (albedo αw = 0.20) is estimated to first order, as SOLWEIG
does, from the irradiance on walls half of which are assumed shaded: Gw = G (1 − Fsh) +
D Fsh, Fsh = 0.5. The ground beneath a person is
taken to be sunlit exactly when the person is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

SIGMA = 5.670374419e-8  # Stefan–Boltzmann constant, W/m²/K⁴
KELVIN = 273.15
ABSORB_SHORT = 0.70  # ζk, shortwave absorption of the human body
ABSORB_LONG = 0.97  # εp, longwave absorption (= emissivity) of the human body
UP_DOWN = 0.06  # angular factor of a standing person, upward and downward
SIDE = 0.22  # angular factor of each of the four sides
WALL_ALBEDO = 0.20
WALL_EMISSIVITY = 0.90
WALLS_SHADED = 0.5  # Fsh, the share of the walls a person sees that lies in shade


@dataclass(frozen=True)
class Weather:
    """The air and the sun at the design hour."""

    air_c: float
    relative_humidity: float  # %
    sun_elevation_deg: float
    dni: float  # W/m², normal to the sun
    dhi: float  # W/m², diffuse on a horizontal surface
    ghi: float  # W/m², global on a horizontal surface


def vapour_pressure_hpa(air_c: float, relative_humidity: float) -> float:
    """Water vapour pressure (hPa) from the Magnus formula over water (Bolton 1980)."""
    saturation = 6.112 * np.exp(17.67 * air_c / (air_c + 243.5))
    return float(saturation * relative_humidity / 100.0)


def sky_longwave(air_c: float, relative_humidity: float) -> float:
    """Clear-sky downward longwave radiation (W/m²), Brutsaert (1975)."""
    air_k = air_c + KELVIN
    emissivity = 1.24 * (vapour_pressure_hpa(air_c, relative_humidity) / air_k) ** (1 / 7)
    return float(emissivity * SIGMA * air_k**4)


def projected_area_factor(elevation_deg: float) -> float:
    """f_p of a standing person for a sun ``elevation_deg`` high (VDI 3787, Fanger 1970)."""
    if elevation_deg <= 0:
        return 0.0
    eta = float(elevation_deg)
    return float(0.308 * np.cos(np.radians(eta * (1 - eta**2 / 48402))))


def mean_radiant_temperature(
    weather: Weather,
    sunlit: npt.NDArray[np.bool_],
    svf: Floats,
    side_svf: Floats,
    ground_albedo: Floats,
    ground_emissivity: Floats,
    ground_c: Floats,
    wall_excess_c: float,
) -> Floats:
    """Tmrt (°C) per cell: ``sunlit`` (n), ``svf`` (n), ``side_svf`` (n, 4), ground albedo,
    emissivity and surface temperature (n)."""
    s = np.asarray(sunlit, dtype=np.float64)
    up = weather.sun_elevation_deg > 0
    beam = weather.dni if up else 0.0
    diffuse = weather.dhi if up else 0.0
    sin_eta = np.sin(np.radians(weather.sun_elevation_deg)) if up else 0.0
    lit_walls = weather.ghi * (1 - WALLS_SHADED) + diffuse * WALLS_SHADED if up else 0.0

    k_down = diffuse * svf + WALL_ALBEDO * (1 - svf) * lit_walls
    k_up = ground_albedo * (beam * sin_eta * s + k_down)
    walls_k = WALL_ALBEDO * (0.5 - side_svf) * lit_walls
    k_sides = diffuse * side_svf + walls_k + 0.5 * k_up[:, None]

    l_sky = sky_longwave(weather.air_c, weather.relative_humidity)
    wall_k = weather.air_c + wall_excess_c + KELVIN
    l_wall = WALL_EMISSIVITY * SIGMA * wall_k**4 + (1 - WALL_EMISSIVITY) * l_sky
    l_down = svf * l_sky + (1 - svf) * l_wall
    l_up = ground_emissivity * SIGMA * (ground_c + KELVIN) ** 4 + (1 - ground_emissivity) * l_down
    l_sides = side_svf * l_sky + (0.5 - side_svf) * l_wall + 0.5 * l_up[:, None]

    direct = projected_area_factor(weather.sun_elevation_deg) * beam * s
    short = UP_DOWN * (k_down + k_up) + SIDE * k_sides.sum(axis=1) + direct
    long = UP_DOWN * (l_down + l_up) + SIDE * l_sides.sum(axis=1)
    absorbed = ABSORB_SHORT * short + ABSORB_LONG * long
    return np.asarray((absorbed / (ABSORB_LONG * SIGMA)) ** 0.25 - KELVIN, dtype=np.float64)
