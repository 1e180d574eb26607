"""datapakke: per-school data packs for Danish school administrations."""
