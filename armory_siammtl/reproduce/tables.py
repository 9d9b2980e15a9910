"""The paper's Tables 1-3 as this package runs them: which models of the family (``armory.scenarios.MODELS``)
on which data, both step sizes (0.1 and 0.2), the reference preset.

Table 1: STL and MTL with the shallow keypoint head at lambda_K 0.2-1.0, CARLA. Table 2: STL and MTL
lambda_K 0.2 on OTB2015-Person with the digital patch. Table 3: the ablations (deep head, pre-trained head,
both) at lambda_K 0.2 and 1.0 beside STL and the shallow head, CARLA.
"""

from dataclasses import dataclass
from typing import Tuple

STEP_SIZES = (0.1, 0.2)


@dataclass(frozen=True)
class PaperTable:
    name: str
    what: str
    models: Tuple[str, ...]  # stems of ``armory.scenarios.MODELS``
    dataset: str  # the sweep's dataset kind


PAPER_TABLES = {
    t.name: t
    for t in (
        PaperTable(
            "table1",
            "STL vs MTL (shallow head) at lambda_K 0.2-1.0, CARLA",
            ("stl", "mtl_l02", "mtl_l04", "mtl_l06", "mtl_l08", "mtl_l10"),
            "carla",
        ),
        PaperTable("table2", "STL vs MTL lambda_K 0.2, OTB2015-Person (digital patch)", ("stl", "mtl_l02"), "otb"),
        PaperTable(
            "table3",
            "ablations: deep head, pre-trained head and both at lambda_K 0.2 and 1.0, CARLA",
            (
                "stl",
                "mtl_l02",
                "mtl_l10",
                "mtl_l02_deep",
                "mtl_l10_deep",
                "mtl_l02_pretrained",
                "mtl_l10_pretrained",
                "mtl_l02_pretrained_deep",
                "mtl_l10_pretrained_deep",
            ),
            "carla",
        ),
    )
}
