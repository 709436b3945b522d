"""verimath inside other frameworks: `verimath.integrations.langchain` (LangChain tools) and
`verimath.integrations.mcp` (an MCP server, the `mcp` extra), both wrapping the one set of
tools in `verimath.integrations.toolset`."""
