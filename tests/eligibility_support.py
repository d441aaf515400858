"""Search pages with eligibility criteria, for the pre-screen CLI and digest tests."""

from __future__ import annotations

import copy
from typing import Any

from .conftest import load_fixture

# Written for these tests in the registry's own phrasings (see fixtures/README.md for the real texts).
NRSPMS_CRITERIA = """Inclusion Criteria:

* Diagnosis of nonrelapsing secondary progressive multiple sclerosis
* EDSS between 3.0 to 6.5 points inclusive
* Absence of clinical relapses for at least 24 months
* No treatment with ocrelizumab in the 12 months prior to screening

Exclusion Criteria:

* Pregnancy or breastfeeding
"""
RMS_CRITERIA = """Key Inclusion Criteria:

1. Diagnosis of relapsing multiple sclerosis (RMS)
2. EDSS score of 0 to 5.5, both inclusive

Key Exclusion Criteria:

1. Diagnosis of primary progressive multiple sclerosis
"""


def page_with_criteria() -> dict[str, Any]:
    """The constructed BTK page near Boston, three of its studies given criteria texts."""
    page = copy.deepcopy(load_fixture("constructed/search_btk_boston.json"))
    perseus = load_fixture("constructed/study_NCT04458051.json")
    texts = {
        "NCT04458051": perseus["protocolSection"]["eligibilityModule"]["eligibilityCriteria"],
        "NCT05147220": RMS_CRITERIA,
        "NCT07299019": NRSPMS_CRITERIA,
    }
    for study in page["studies"]:
        nct_id = study["protocolSection"]["identificationModule"]["nctId"]
        if nct_id in texts:
            study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = texts[nct_id]
    return page
