"""TLA+ twins of the spec, checked by TLC: model rendering (`models`), the checked-in models (`catalog`)
and the TLC runner (`runner`). The twins live in the repository's `tla/` directory."""
