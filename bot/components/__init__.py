"""Custom NLU components for the bilingual (zh/en) pipeline."""
