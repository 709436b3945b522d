"""verimath inside other frameworks: `verimath.integrations.langchain` (LangChain tools)."""
