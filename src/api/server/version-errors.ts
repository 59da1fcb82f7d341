// The resourceVersion errors kube-apiserver gives lists and watches, in its shapes,
// so client-go's reflector (and ours) reacts as it does against a real cluster.
import { ApiError } from '../errors.ts'

/** A version this server has not reached: 504 Timeout with the ResourceVersionTooLarge cause (storage.NewTooLargeResourceVersionError). */
export const tooLargeResourceVersion = (want: number, current: number) =>
  new ApiError('ERVTOOLARGE', 504, 'Timeout', `Too large resource version: ${want}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  })

/** A version older than the history reaches: 410 Expired, as the watch cache words it. */
export const tooOldResourceVersion = (want: number, oldest: number) => new ApiError('EEXPIRED', 410, 'Expired', `too old resource version: ${want} (${oldest})`)

/** 410 Expired for a continue token whose version is gone; carries a token that goes on at the latest version instead. */
export class ContinueExpired extends ApiError {
  constructor(readonly inconsistentContinue: string) {
    super(
      'ECONTINUEEXPIRED',
      410,
      'Expired',
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    )
  }

  override toStatus(): Record<string, unknown> {
    return { ...super.toStatus(), metadata: { continue: this.inconsistentContinue } }
  }
}
