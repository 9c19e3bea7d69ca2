#!/usr/bin/env python3
"""Generate core/data/grids.geojson, the demo grid dataset of a Xietu-like street.

Usage (from the repository root):

    python3 core/data/tools/gen_grids.py > core/data/grids.geojson
    python3 core/data/tools/gen_grids.py --samples   # Rust test fixtures, see below

The output is deterministic: it depends on nothing but this file (no random seed from the clock,
pseudo-random numbers come from SHA-256 of fixed keys), and floats are rounded to 7 decimals
(about 1 cm) before they are printed with Python's shortest round-trip repr.

What it draws
-------------
A street of about 2.5 km x 2 km around 31.19 N, 121.44 E, in GCJ-02 (the datum Chinese web maps
draw in, so the polygons line up with what the back office sees on its map). The geometry is
synthetic: the names are plausible, the boundaries are not surveyed ones.

* 4 grid blocks (网格管理服务块区), cut by two roads: Damuqiao Rd (大木桥路), running roughly
  north-south with a gentle bow, and Xietu Rd (斜土路), running roughly east-west with a slant
  (斜 = slanting) and a wiggle. The blocks meet on the road centre lines, so together they cover the
  whole street with no gap.
* 18 residential workstations (居民区工作站), 5/4/5/4 per block, tiling their block.
* 2-4 unit grids (单元网格) per workstation, tiling their workstation.

How the polygons are made to tile exactly
-----------------------------------------
Everything is built on one lattice of 50 m quads (NU x NV). Each cell is a set of lattice quads,
and its ring is the traced boundary of that set, passing through *every* lattice vertex on it.
Two neighbours therefore share exactly the same vertices along their common edge (no T-junctions,
no slivers), a child's ring reuses its parent's vertices, and nesting holds by construction.
Staircase steps of the lattice are then cut to diagonals (see `corners_to_cut`), consistently
in every ring that passes there. Lattice vertices are moved by a smooth warp (the roads' bow and
slant) plus a small per-vertex jitter (at most 10 m per axis, 1/5 of the spacing, which keeps
every quad convex, so no ring can self-intersect); vertices on the road centre lines are not
jittered, so the roads stay smooth. Workstations and units are Voronoi partitions of their
parent's quads around pseudo-random seeds; a partition is retried with the next seeds until every
part is one piece, without holes or pinch points, not too small, and not a thin sliver.

--samples
---------
Prints Rust constants for the module's tests: for every unit, a point at the centre of a quad
whose 8 neighbours are in the same unit (so at least ~20 m from its boundary, even after the
staircase cuts, which only ever take half of a quad on the boundary), with the unit it
belongs to *by construction* (not by point-in-polygon, so the test checks the lookup against an
independent answer); a few points 5 m from the shared edge of two sibling units; and the
Damuqiao Rd / Xietu Rd crossing.
"""

import argparse
import hashlib
import json
import math
import sys

NU, NV = 50, 40  # lattice size in quads (east-west, north-south)
SPACING_M = 50.0  # lattice spacing in metres before warp and jitter
ROAD_U = 24  # lattice column of Damuqiao Rd (大木桥路) centre line
ROAD_V = 20  # lattice row of Xietu Rd (斜土路) centre line
JITTER_M = 10.0  # max jitter per axis; <= SPACING_M / 5 keeps every quad convex
ORIGIN_LAT = 31.181  # south-west corner of the lattice, GCJ-02
ORIGIN_LON = 121.4269
REF_LAT = 31.19  # latitude of the local equirectangular projection
M_PER_DEG_LAT = 6371008.8 * math.pi / 180.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(REF_LAT))

BLOCKS = [
    # id, name, west of Damuqiao Rd?, north of Xietu Rd?, workstation count
    ("XT-B1", "斜土第一网格块区（大木桥路以西、斜土路以北）", True, True, 5),
    ("XT-B2", "斜土第二网格块区（大木桥路以东、斜土路以北）", False, True, 4),
    ("XT-B3", "斜土第三网格块区（大木桥路以西、斜土路以南）", True, False, 5),
    ("XT-B4", "斜土第四网格块区（大木桥路以东、斜土路以南）", False, False, 4),
]

WORKSTATION_NAMES = [
    "日晖新城", "斜土", "大木桥", "小木桥", "丰谷", "嘉善",
    "江南新村", "零陵", "枫林", "东安", "明园", "瑞平",
    "肇嘉浜", "茶陵", "嘉乐", "宛平南", "医学院", "中山南二路",
]


def noise(*key):
    """Deterministic pseudo-random number in [-1, 1) for a key."""
    digest = hashlib.sha256(repr(key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**63 - 1.0


def in_street(i, j):
    """Whether lattice quad (i, j) is part of the street (the outline has a few notches)."""
    if not (0 <= i < NU and 0 <= j < NV):
        return False
    if i >= 44 and j >= 34:  # north-east notch
        return False
    if i < 4 and j < 6:  # south-west notch
        return False
    if i < 2 and j >= 31:  # north-west step
        return False
    if i >= 47 and j < 5:  # south-east step
        return False
    return True


def vertex_metres(i, j):
    """Position of lattice vertex (i, j) in metres east/north of the origin."""
    u, v = i * SPACING_M, j * SPACING_M
    x = u + 35.0 * math.sin(math.pi * j / NV)  # Damuqiao Rd bows eastwards
    y = v + 0.10 * (u - 1250.0) + 18.0 * math.sin(3.0 * math.pi * i / NU)  # Xietu Rd slants
    if i != ROAD_U and j != ROAD_V:
        x += JITTER_M * noise("jx", i, j)
        y += JITTER_M * noise("jy", i, j)
    return x, y


def to_lon_lat(x, y):
    """Metres east/north of the origin to rounded [lon, lat] (GCJ-02)."""
    return [round(ORIGIN_LON + x / M_PER_DEG_LON, 7), round(ORIGIN_LAT + y / M_PER_DEG_LAT, 7)]


def vertex_lon_lat(i, j):
    return to_lon_lat(*vertex_metres(i, j))


def trace_ring(quads):
    """Counter-clockwise ring of lattice vertices around a set of quads.

    Returns None unless the set is one piece with one simple boundary (no hole, no pinch point).
    """
    edges = {}
    for (i, j) in quads:
        corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
        neighbours = [(i, j - 1), (i + 1, j), (i, j + 1), (i - 1, j)]
        for k in range(4):
            if neighbours[k] in quads:
                continue
            start, end = corners[k], corners[(k + 1) % 4]
            if start in edges:
                return None  # two boundary edges leave one vertex: a pinch point
            edges[start] = end
    first = min(edges)
    ring = [first]
    current = edges[first]
    while current != first:
        ring.append(current)
        current = edges[current]
        if len(ring) > len(edges):
            return None
    if len(ring) != len(edges):
        return None  # more than one boundary loop: a hole or several pieces
    return ring


def has_deep_quad(quads):
    """Whether some quad has all 8 neighbours in the set (the part is not a thin sliver)."""
    return any(all_neighbours_in(quads, q) for q in quads)


def all_neighbours_in(quads, quad):
    """Whether the 8 neighbours of `quad` are all in `quads`."""
    i, j = quad
    return all((i + a, j + b) in quads for a in (-1, 0, 1) for b in (-1, 0, 1))


def connected(quads):
    quads = set(quads)
    if not quads:
        return False
    stack = [min(quads)]
    seen = {stack[0]}
    while stack:
        i, j = stack.pop()
        for n in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
            if n in quads and n not in seen:
                seen.add(n)
                stack.append(n)
    return len(seen) == len(quads)


def partition(quads, count, key, min_share):
    """Split a set of quads into `count` valid parts (Voronoi around pseudo-random seeds).

    Parts are returned ordered north to south, then west to east, by their seed.
    """
    quads = sorted(quads)
    lo_i = min(q[0] for q in quads)
    hi_i = max(q[0] for q in quads) + 1
    lo_j = min(q[1] for q in quads)
    hi_j = max(q[1] for q in quads) + 1
    quad_set = set(quads)
    for attempt in range(1000):
        seeds = []
        n = 0
        while len(seeds) < count:
            si = lo_i + (hi_i - lo_i) * (noise(key, attempt, n, "si") + 1) / 2
            sj = lo_j + (hi_j - lo_j) * (noise(key, attempt, n, "sj") + 1) / 2
            n += 1
            if (int(si), int(sj)) in quad_set:
                seeds.append((si, sj))
        parts = [set() for _ in seeds]
        for (i, j) in quads:
            ci, cj = i + 0.5, j + 0.5
            nearest = min(
                range(count), key=lambda k: (ci - seeds[k][0]) ** 2 + (cj - seeds[k][1]) ** 2
            )
            parts[nearest].add((i, j))
        minimum = min_share * len(quads) / count
        if all(
            len(p) >= minimum and connected(p) and has_deep_quad(p) and trace_ring(p) is not None
            for p in parts
        ):
            order = sorted(range(count), key=lambda k: (-round(seeds[k][1]), seeds[k][0]))
            return [parts[k] for k in order]
    raise SystemExit(f"no valid partition found for {key}")


def unit_count(size):
    """2-4 units per workstation, more for bigger workstations."""
    if size < 85:
        return 2
    if size < 115:
        return 3
    return 4


def corners_to_cut(units):
    """Lattice vertices to drop from every ring, turning staircases into diagonals.

    A vertex can go when exactly two unit-boundary edges meet there at a right angle (a staircase
    step): then every ring through it (of a unit, its workstation or block) runs a-v-b the same
    way, so dropping it from all of them keeps the tiling exact. The cut replaces two sides of one
    convex quad by its diagonal. No two neighbouring vertices are dropped, so each cut stays within
    its own quad and no ring can cross itself. Road centre lines and the street outline keep all
    their vertices.
    """
    label = {q: cell_id for (cell_id, _, _, _, quads) in units for q in quads}
    neighbours = {}
    for (i, j), cell_id in label.items():
        sides = [((i, j), (i + 1, j), (i, j - 1)), ((i + 1, j), (i + 1, j + 1), (i + 1, j)),
                 ((i, j + 1), (i + 1, j + 1), (i, j + 1)), ((i, j), (i, j + 1), (i - 1, j))]
        for (a, b, other) in sides:
            if label.get(other) != cell_id:
                neighbours.setdefault(a, set()).add(b)
                neighbours.setdefault(b, set()).add(a)
    cut = set()
    for v in sorted(neighbours):
        i, j = v
        ends = neighbours[v]
        if len(ends) != 2 or i == ROAD_U or j == ROAD_V:
            continue
        if any(q not in label for q in ((i - 1, j - 1), (i, j - 1), (i - 1, j), (i, j))):
            continue  # on the street outline
        a, b = sorted(ends)
        if a[0] == b[0] or a[1] == b[1]:
            continue  # straight through, not a step
        if a in cut or b in cut:
            continue
        cut.add(v)
    return cut


def polygon(quads, cut):
    ring = [v for v in trace_ring(quads) if v not in cut]
    coords = [vertex_lon_lat(i, j) for (i, j) in ring]
    coords.append(coords[0])
    return {"type": "Polygon", "coordinates": [coords]}


def build():
    """All cells as (id, name, level, parent, quads): blocks, then workstations, then units."""
    street = {(i, j) for i in range(NU) for j in range(NV) if in_street(i, j)}
    blocks, workstations, units = [], [], []
    names = iter(WORKSTATION_NAMES)
    ws_number = 0
    for (block_id, block_name, west, north, ws_count) in BLOCKS:
        block_quads = {q for q in street if (q[0] < ROAD_U) == west and (q[1] >= ROAD_V) == north}
        assert trace_ring(block_quads) is not None, block_id
        blocks.append((block_id, block_name, "block", None, block_quads))
        for ws_quads in partition(block_quads, ws_count, block_id, 0.6):
            ws_number += 1
            ws_id = f"XT-W{ws_number:02d}"
            ws_name = next(names)
            workstations.append((ws_id, f"{ws_name}居民区工作站", "workstation", block_id, ws_quads))
            unit_parts = partition(ws_quads, unit_count(len(ws_quads)), ws_id, 0.5)
            for k, unit_quads in enumerate(unit_parts, 1):
                units.append((f"{ws_id}-U{k}", f"{ws_name}第{k}单元网格", "unit", ws_id, unit_quads))
    return blocks + workstations + units


def feature_json(cell, cut):
    cell_id, name, level, parent, quads = cell
    properties = {"id": cell_id, "name": name, "level": level}
    if parent is not None:
        properties["parent"] = parent
    feature = {"type": "Feature", "properties": properties, "geometry": polygon(quads, cut)}
    return json.dumps(feature, ensure_ascii=False, separators=(",", ":"))


def geojson(cells):
    head = (
        '{"type":"FeatureCollection",\n'
        '"datum":"GCJ-02",\n'
        '"name":"斜土街道网格（演示数据：名称取自斜土街道，边界为合成几何）",\n'
        '"generator":"core/data/tools/gen_grids.py",\n'
        '"features":[\n'
    )
    cut = corners_to_cut([c for c in cells if c[2] == "unit"])
    return head + ",\n".join(feature_json(c, cut) for c in cells) + "\n]}\n"


def quad_centre(i, j):
    corners = ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1))
    xs, ys = zip(*(vertex_metres(a, b) for (a, b) in corners))
    return sum(xs) / 4, sum(ys) / 4


def samples(cells):
    units = [c for c in cells if c[2] == "unit"]
    label = {}
    for (cell_id, _, _, parent, quads) in units:
        for q in quads:
            label[q] = (cell_id, parent)
    out = ["// Generated by `python3 core/data/tools/gen_grids.py --samples`; GCJ-02 (lat, lon).",
           "/// A point well inside every unit of the demo dataset, with its unit by construction.",
           "pub(super) const INTERIOR_SAMPLES: &[(&str, f64, f64)] = &["]
    for (cell_id, _, _, _, quads) in units:
        ci = sum(q[0] + 0.5 for q in quads) / len(quads)
        cj = sum(q[1] + 0.5 for q in quads) / len(quads)
        deep = [q for q in quads if all_neighbours_in(quads, q)]
        assert deep, cell_id
        i, j = min(deep, key=lambda q: ((q[0] + 0.5 - ci) ** 2 + (q[1] + 0.5 - cj) ** 2, q))
        lon, lat = to_lon_lat(*quad_centre(i, j))
        out.append(f'    ("{cell_id}", {lat!r}, {lon!r}),')
    out.append("];")

    # Points 5 m inside unit `left`, off the middle of a lattice edge it shares with sibling
    # `right`, where no third unit touches either end of the edge.
    out.append("/// A point 5 m inside unit .0 from the middle of an edge it shares with sibling .1.")
    out.append("pub(super) const EDGE_SAMPLES: &[(&str, &str, f64, f64)] = &[")
    found = []
    seen_pairs = set()
    for (i, j) in sorted(label):
        right_q = (i + 1, j)  # vertical edge from (i+1, j) to (i+1, j+1)
        if right_q not in label:
            continue
        (left_id, left_parent), (right_id, right_parent) = label[(i, j)], label[right_q]
        if left_id == right_id or left_parent != right_parent or (left_id, right_id) in seen_pairs:
            continue
        # The shared boundary runs straight on through both ends of the edge, so neither end is
        # a staircase corner that `corners_to_cut` could drop, and no third unit is near.
        if any(label.get((i, j + d)) != label[(i, j)] for d in (-1, 1)):
            continue
        if any(label.get((i + 1, j + d)) != label[right_q] for d in (-1, 1)):
            continue
        (x0, y0), (x1, y1) = vertex_metres(i + 1, j), vertex_metres(i + 1, j + 1)
        length = math.hypot(x1 - x0, y1 - y0)
        # Walking from (x0, y0) to (x1, y1), the left unit is on the left-hand side.
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        lon, lat = to_lon_lat((x0 + x1) / 2 + 5.0 * nx, (y0 + y1) / 2 + 5.0 * ny)
        found.append(f'    ("{left_id}", "{right_id}", {lat!r}, {lon!r}),')
        seen_pairs.add((left_id, right_id))
        if len(found) == 6:
            break
    out.extend(found)
    out.append("];")
    lon, lat = vertex_lon_lat(ROAD_U, ROAD_V)
    out.append("/// The crossing of the Damuqiao Rd and Xietu Rd centre lines, where all 4 blocks meet.")
    out.append(f"pub(super) const ROAD_CROSSING: (f64, f64) = ({lat!r}, {lon!r});")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", action="store_true", help="print Rust test fixtures instead")
    args = parser.parse_args()
    cells = build()
    sys.stdout.write(samples(cells) if args.samples else geojson(cells))


if __name__ == "__main__":
    main()
