/**
 * The two ways a field evaluation stops short of an answer: a computation the field
 * cannot model soundly (the verdict is then 'unverifiable', never 'equivalent'), and a
 * zero denominator met by the program side (the seed's inputs are drawn afresh).
 */

/** The pair cannot be verified in the field, e.g. an exp of a value derived from an exp. */
export class UnverifiableError extends Error {
  override readonly name = 'UnverifiableError';
}

/** The program divided by zero in the field on this draw of inputs: draw new ones. */
export class ZeroDenominatorError extends Error {
  override readonly name = 'ZeroDenominatorError';
  constructor(readonly where: string) {
    super(`zero denominator in the program at ${where}`);
  }
}
