/** Every provider scheme hookflow can verify; the workflow definition names one of these. */
export type SignatureSchemeName = 'github' | 'stripe' | 'slack' | 'shopify' | 'standard-webhooks' | 'hmac-sha256';

/** Per-trigger settings; parsed and validated by `config/` before they reach a scheme. */
export interface SignatureOptions {
  /** Allowed clock skew for timestamped schemes, seconds. Default 300. */
  toleranceSeconds?: number;
  /** hmac-sha256 only: header carrying the signature (lower-case name). Default 'x-signature'. */
  header?: string;
  /** hmac-sha256 only: 'hex' (default) or 'base64'. */
  encoding?: 'hex' | 'base64';
  /** hmac-sha256 only: a prefix before the digest, e.g. 'sha256='. Default none. */
  prefix?: string;
}

/** One request to check, with everything a scheme needs and nothing it must fetch. */
export interface SignatureCheckInput {
  /** The body exactly as received; providers sign bytes, not parsed JSON. */
  rawBody: Buffer;
  /** Request headers, names lower-cased. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Every currently valid secret (several during a rotation); any one matching is enough. */
  secrets: readonly string[];
  /** Current time in seconds (injected so tests never sleep). */
  nowSeconds: number;
  /** The trigger's options; schemes ignore the ones that are not theirs. */
  options: SignatureOptions;
}

/** Outcome of a check; never carries the secret or the presented signature. */
export type SignatureCheckResult = { ok: true } | { ok: false; reason: SignatureFailureReason };

/**
 * Why a request was refused, for the rejected-call log.
 * - `missing_header`: a header the scheme needs is absent.
 * - `malformed_header`: present but not in the scheme's shape (empty, repeated, no `t=`,
 *   non-numeric timestamp, missing `sha256=` prefix, …).
 * - `timestamp_out_of_tolerance`: well-formed, but signed too far from now (replay defence).
 * - `signature_mismatch`: well-formed, but no presented signature matches any secret. A signature
 *   value that is not valid hex/base64 or has the wrong length lands here too: only its envelope
 *   is "malformed", the value itself simply fails to match.
 */
export type SignatureFailureReason =
  | 'missing_header'
  | 'malformed_header'
  | 'timestamp_out_of_tolerance'
  | 'signature_mismatch';

/** A provider's verification algorithm; every scheme has this same shape. */
export interface SignatureScheme {
  /** Registry key; also what the rejected-call log can record as the scheme. */
  readonly name: SignatureSchemeName;
  /** Header names this scheme reads (lower-case), so the caller can strip/record them. */
  readonly headerNames: readonly string[];
  /** Checks one request; never throws, whatever the headers or secrets contain. */
  verify(input: SignatureCheckInput): SignatureCheckResult;
}
