package org.sd3j.train;

/**
 * One Diffusion-DPO optimizer step (SPEC §8), averaged over its pairs (and micro-batches).
 *
 * @param step              steps completed, from 1
 * @param loss              {@code mean(-log sigmoid(z))}; ln 2 while the policy equals the reference
 * @param accuracy          implicit accuracy: the share of pairs with {@code z > 0} (ties count half)
 * @param margin            the mean implicit reward margin {@code z = -0.5 beta ((e_pw - e_rw) - (e_pl - e_rl))}
 * @param policyChosen      mean policy error on the chosen images {@code e_pw}
 * @param policyRejected    mean policy error on the rejected images {@code e_pl}
 * @param referenceChosen   mean reference error on the chosen images {@code e_rw}
 * @param referenceRejected mean reference error on the rejected images {@code e_rl}
 */
public record DpoMetrics(long step, double loss, double accuracy, double margin, double policyChosen,
                         double policyRejected, double referenceChosen, double referenceRejected) {
}
