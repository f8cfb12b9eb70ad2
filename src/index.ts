// The runtime-agnostic public API. Import it through the package ('webrlhf'), whose
// entry for Node, Deno or browsers installs the matching platform first.
export { createRuntime, type Runtime, type RuntimeOptions, type BackendChoice } from './runtime/create_runtime.js';
export { chooseAuto } from './runtime/auto_choice.js';
export type { AdapterSummary } from './runtime/gpu_acquire.js';
export type { RuntimeName } from './runtime/platform.js';
export { Backend, Tensor, VIEW_ALIGN, type BackendKind, type BackendInfo, type StorageOptions, type StoragePart } from './backend/backend.js';
export { bf16Bits, f16Bits, roundTo, viewAlign, DTYPE_BYTES, type DType } from './backend/dtype.js';
export { opFamily, type OpFamily, type FamilyImplementations, type KernelContexts } from './backend/op_family.js';
export type { GPUKernelContext, Binding } from './backend/webgpu/gpu_kernels.js';
export type { WasmKernelContext, WasmArg, WasmArgs, SplitOptions } from './backend/wasm/wasm_kernels.js';
// The op families: each op a function of its tensors (src/ops/).
export * from './ops/core.js';
export * from './ops/layers.js';
export * from './ops/activations.js';
export * from './ops/attention.js';
export * from './ops/sampling.js';
export * from './ops/dropout.js';
export * from './ops/optimizer.js';
export * from './ops/ppo_losses.js';
export * from './ops/preference_losses.js';
export * from './ops/rlmec_loss.js';
export * from './ops/grpo_loss.js';
export * from './ops/mib_losses.js';
export { philox4x32, philoxUniforms, uniformFromBits, type PhiloxCounter, type PhiloxKey, type RandomOptions } from './random/philox.js';
export { philoxNormals } from './random/normals.js';
export type { WasmSource } from './backend/wasm/load_wasm.js';
export {
  parseSafetensors, serializeSafetensors, f16BitsToF32, bf16BitsToF32, SAFETENSORS_READ_DTYPES,
  type SafetensorsTensor, type SafetensorsTensors, type NamedTensor, type ParseSafetensorsOptions,
} from './io/safetensors.js';
export {
  loadModelFolder, saveModelFolder, modelFolderFiles, directoryFolder, urlFolder, filesFolder, memoryFolder,
  resolveFolderSource, resolveFolderTarget, parseModelConfig, expectTensor, expectModelTensors,
  CONFIG_FILE, WEIGHTS_FILE, WEIGHTS_INDEX_FILE,
  type ModelFolder, type ModelFolderSource, type ModelFolderTarget, type FileLike,
  type ModelFolderLocation, type ModelFolderDestination, type SaveModelFolderOptions,
} from './io/model_folder.js';
export type { PlatformFS } from './runtime/platform.js';
export * from './errors.js';
export { gptConfig, GPT2_SMALL, type GPTConfig } from './nn/config.js';
export { llamaConfig, type LlamaConfig, type LlamaModelType } from './nn/llama_config.js';
export {
  architectureOf, checkModelConfig, checkpointTensorName, configJson, positionsKey, SUPPORTED_ARCHITECTURES,
  type Architecture, type ModelConfig, type ModelType,
} from './nn/architecture.js';
export { decoderTensors, decoderRefs, type TensorSpec, type DecoderRefs, type BlockRefs, type LinearRef, type NormRef } from './nn/decoder_tensors.js';
export { CausalLM, type ModelOptions, type ForwardOptions, type BackwardInput } from './nn/causal_lm.js';
export { trainingMemory, type TrainingMemory, type TrainingMemoryOptions } from './nn/memory_estimate.js';
export { AUTO_LOGITS_BYTES, type LogitsChunking } from './nn/logit_chunks.js';
/** @deprecated The model class is CausalLM (every family); GPT is its old name. */
export { CausalLM as GPT } from './nn/causal_lm.js';
export { parameterLayout, parameterCount, packParameters, type ParamLayout, type ParamSpec, type HeadOptions, type TensorInit, type Init } from './nn/layout.js';
export { rotaryFrequencies, rotaryTables, checkRotaryPositions, ROPE_TYPES, type RopeScaling, type RotaryTables } from './nn/rotary.js';
export { prepareBatch, type TokenBatch, type PreparedBatch, type LossReduction } from './nn/batch.js';
export { AdamW, ADAMW_DEFAULTS, type AdamWConfig, type Trainable } from './nn/adamw.js';
export { ParameterStore } from './nn/parameter_store.js';
export { MLP, MLPTape, mlpTensors, type MLPShape, type MLPBackwardOptions } from './nn/mlp.js';
export { lmTrainStep, type StepResult } from './algorithms/sft/step.js';
export { rowIndex, disposeRowIndex, groupRows } from './nn/row_index.js';
export { loadModel, saveModel, type LoadModelOptions } from './io/pretrained_model.js';
export { loadAdapter, saveAdapter, readAdapterFolder, ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './io/peft_adapter.js';
export { LoraAdapter, type LowRankUpdate, type LoraPair } from './nn/lora/lora_adapter.js';
export { loraConfig, loraScaling, adapterConfigJson, LORA_DEFAULTS, DEFAULT_TARGET_MODULES, type LoraConfig, type LoraTaskType } from './nn/lora/lora_config.js';
export { loraTargets, linearModules, moduleMatches, transformersName, type LoraTarget } from './nn/lora/lora_targets.js';
/** @deprecated loadModel and saveModel load and save every family; these are their old names. */
export { loadModel as loadGPT, saveModel as saveGPT } from './io/pretrained_model.js';
export type { Tokenizer } from './text/tokenizer.js';
export { HFTokenizer } from './text/hf_tokenizer.js';
export type { AddedToken } from './text/added_tokens.js';
export { ByteTokenizer, byteTokenizer, BYTE_BOS_TOKEN, BYTE_EOS_TOKEN, BYTE_PAD_TOKEN } from './text/byte_tokenizer.js';
export { BYTE_TO_CHAR, GPT2_SPLIT_PATTERN } from './text/byte_level.js';
export { ChatTemplate, type ChatTemplateMessage, type ChatRenderOptions, type AssistantSpan } from './text/chat_template.js';
export {
  parseTokenizer, loadTokenizer, saveTokenizer, tokenizerFiles, isSavableTokenizer, type SavableTokenizer,
  TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, CHAT_TEMPLATE_FILE, VOCAB_FILE, MERGES_FILE, type TokenizerFileContents,
} from './text/tokenizer_files.js';
export { CachedDecoder } from './nn/cached_decoder.js';
export { generate, type GenerateOptions, type GeneratedSequence, type Prompt } from './text/generate.js';
export type { GenerationConfig } from './text/generation_config.js';
export type { FinishReason } from './text/stop_criteria.js';
export { scoreSequences, rewardScores, type ScoreOptions, type SequenceScore } from './text/score.js';
export { responseBatch, type PromptResponse, type ResponseBatch } from './text/response_batch.js';
export { MIBHeads, MIB_HEADS_DEFAULTS, type MIBHeadsConfig, type MIBStepOptions, type MIBStepResult } from './algorithms/rlp/mib_heads.js';
export { mibBeta, MIB_BETA_START, type MIBBetaOptions } from './algorithms/rlp/mib_beta.js';
export { UMLRewardTrainer, type ViewPair, type UMLRewardTrainerInit } from './algorithms/rlp/uml_reward_trainer.js';
export { UMLRewardGradients, type UMLGradientOptions, type UMLGradientResult } from './algorithms/rlp/uml_reward_gradients.js';
export { rewardEmbeddings } from './algorithms/rlp/reward_embeddings.js';
export { UML_REWARD_CONFIG, MIB_KEYS, umlRewardConfig, type UMLRewardConfig } from './algorithms/rlp/uml_reward_config.js';
export type { TokenLogprobs } from './nn/causal_lm.js';
export { seededPermutation } from './random/permutation.js';
export { applyUpdate, applyUpdates, type AppliedUpdate, type UpdateRequest } from './training/apply_update.js';
export { encodePair, encodePreference, encodeSegments, type EncodedPair, type EncodedRow, type EncodeOptions } from './training/encode.js';
export { preferenceBatch, type EncodedPreference } from './algorithms/preference/preference_batch.js';
export { rewardTrainStep, evaluateRewardModel, type RewardStepOptions } from './algorithms/reward/step.js';
export { dpoTrainStep, evaluateDPO, type DPOStepOptions } from './algorithms/dpo/step.js';
export { ppoMinibatchGradients, type PPOMinibatch, type PPOMinibatchOutputs, type PPOMinibatchHyperparameters } from './algorithms/ppo/minibatch_gradients.js';
export { PPOLearner, adaptKLCoef, type PPOHyperparameters, type PPOModels, type RewardFunction, type RolloutSample, type PPOStepResult } from './algorithms/ppo/learner.js';
export {
  readJsonlLines, jsonlSourceName, type JsonlSource, type JsonlText, type JsonlStream, type JsonlReadOptions, type JsonlLine,
} from './data/jsonl.js';
export { CHAT_ROLES, chatHeader, chatSegments, renderChatMessages, renderChatPrompt, splitChat, type ChatMessage, type ChatRole, type ChatSegment } from './data/chat.js';
export {
  sftRecord, preferenceRecord, promptRecord, siteLabel, type SFTRecord, type PreferenceRecord, type PromptRecord, type RecordSite,
  problemRecord, rewriteRecord, type ProblemRecord, type RewriteRecord,
} from './data/records.js';
export {
  loadSFTDataset, loadPreferenceDataset, loadPromptDataset, sftDataset, preferenceDataset, promptDataset, dropIdenticalPairs, auditPreferences, describeSkipped,
  loadProblemDataset, problemDataset, loadRewriteDataset, rewriteDataset,
  SKIPPED_ERRORS_KEPT, type Dataset, type PreferenceDataset, type PreferenceAudit, type BadPreferenceField, type DatasetOptions, type LoadDatasetOptions, type ArrayDatasetOptions,
} from './data/datasets.js';
export {
  checkConfigLayer, mergeConfig, resolveConfig, schemaDefaults, requireKeys, checkValue, isValidValue, describeType, suggestKey,
  numberKey, integerKey, stringKey, booleanKey, enumKey, numberListKey, stringListKey, type ConfigSchema, type KeySpec, type ValueType,
} from './training/config/schema.js';
export { configFlags, COMMAND_LINE, type ConfigFlags, type ConfigFlagsOptions } from './training/config/flags.js';
export { configFromFile } from './training/config/file.js';
export { describeConfig, type DescribeConfigOptions } from './training/config/describe.js';
export { trainingKeys, SCHEDULER_TYPES, type TrainingConfig, type SchedulerType } from './training/config/training.js';
export { SFT_CONFIG, sftConfig, type SFTConfig } from './algorithms/sft/config.js';
export { REWARD_CONFIG, rewardConfig, type RewardConfig } from './algorithms/reward/config.js';
export { DPO_CONFIG, dpoConfig, type DPOConfig, type DPOLossType } from './algorithms/dpo/config.js';
export { PPO_CONFIG, PPO_PRESETS, ppoConfig, type PPOConfig, type PPOPreset } from './algorithms/ppo/config.js';
export { GRPO_CONFIG, grpoConfig, type GRPOConfig } from './algorithms/grpo/config.js';
export { RLOO_CONFIG, rlooConfig, type RLOOConfig } from './algorithms/rloo/config.js';
export { groupKeys, generationShape, type GroupConfig } from './algorithms/grpo/group_config.js';
export { TRAINER_CONFIGS, type TrainerName } from './algorithms/trainer_configs.js';
export { learningRate, learningRateSchedule, warmupSteps, totalTrainingSteps, type ScheduleOptions } from './training/schedule.js';
export { configReference } from './pipelines/config_reference.js';
export {
  openRun, Run, RUN_CONFIG_FILE, METRICS_FILE, ROLLOUTS_FILE, FINAL_DIR, type OpenRunOptions,
} from './training/run/run_folder.js';
export { directoryRunStorage, memoryRunStorage, resolveRunStorage, subRunStorage, type RunStorage, type MemoryRunStorage } from './training/run/run_storage.js';
export {
  checkpointName, checkpointStep, TRAINER_STATE_FILE, OPTIMIZER_FILE,
  type Checkpoint, type CheckpointContents, type RestoreTargets,
} from './training/run/checkpoint.js';
export { configDifferences, type ConfigDifference } from './training/run/config_diff.js';
export { CHECKPOINT_PAUSE_ENV } from './training/run/fault_injection.js';
export {
  Progress, progressLine, progressLogLine, progressSummary, progressBar, formatDuration, formatRate, formatMetric,
  type ProgressOptions, type ProgressStream, type ProgressSnapshot,
} from './training/progress.js';
export { Trainer, type StepOutput, type StepEvent, type TrainOptions, type TrainResult, type TrainerParts, type TrainerInit, type ModelRole, type PolicyRoles } from './training/trainer.js';
export { SFTTrainer, type SFTTrainerInit } from './algorithms/sft/trainer.js';
export { RewardTrainer, type RewardTrainerInit } from './algorithms/reward/trainer.js';
export { DPOTrainer, type DPOTrainerInit } from './algorithms/dpo/trainer.js';
export type { PreferenceTrainerInit } from './algorithms/preference/preference_trainer.js';
export { PPOTrainer, type PPOTrainerInit } from './algorithms/ppo/trainer.js';
export { ppoModels, type PPOModelSources, type PPOModelSet } from './algorithms/ppo/models.js';
export { GRPOTrainer, type GRPOTrainerInit } from './algorithms/grpo/trainer.js';
export { RLOOTrainer, type RLOOTrainerInit } from './algorithms/rloo/trainer.js';
export { GroupTrainer, type GroupTrainerInit } from './algorithms/grpo/group_trainer.js';
export { grpoAdvantages, rlooAdvantages, nanMean, nanStd, SCALE_REWARDS, type ScaleRewards, type Advantages } from './algorithms/grpo/advantages.js';
export {
  callRewardFuncs, rewardFuncNames, type RewardFunc, type RewardFuncKwargs, type RewardValue, type RewardTrainerState, type RewardBatch, type FuncRewards,
} from './algorithms/grpo/reward_funcs.js';
export { accuracyReward, formatReward, softOverlongPunishment, repetitionPenalty, modelReward, named as namedReward } from './algorithms/grpo/builtin_rewards.js';
export { grmTokenReward } from './algorithms/rlmec/grm_token_reward.js';
export { importRewardFuncs } from './io/reward_module.js';
export { DataOrder } from './training/data_order.js';
export {
  generateArithmeticProblems, arithmeticSplits, formatSolution, formatStep, problemPrompt, extractAnswer, checkSolution, minimumEditRewrite, DIFFICULTIES,
  type ArithmeticProblem, type ArithmeticStep, type ArithmeticSplits, type Difficulty, type Operator, type SolutionCheck,
} from './tasks/arithmetic.js';
export { INSTRUCTION_KINDS, type InstructionKind, type InstructionPayloads } from './tasks/instruction_kinds.js';
export {
  generateInstructions, instructionSplits, referenceOutput, DEFAULT_REFERENCE_QUALITY,
  type InstructionExample, type InstructionSplits, type InstructionSplitOptions,
} from './tasks/instructions.js';
export {
  LEAD_IN_PHRASES, TRAILING_JUNK, DEFAULT_DEMO_FLAWS, DEFAULT_REFERENCE_FLAWS, withSurfaceFlaws, ANSWER_LEAD_IN, type SurfaceFlawRates,
} from './tasks/instruction_flaws.js';
export {
  goldScore, goldPreference, instructionAnnotator, instructionEquivalence, surfaceFlaws, DRAW_TOLERANCE, LEAD_IN_FACTOR,
  type Annotator, type SurfaceFlaws, type Preference,
} from './tasks/instruction_annotator.js';
export { labelPreferences, DEFAULT_LABEL_NOISE, type LabelOptions, type LabelledPairs } from './tasks/instruction_labels.js';
export { levenshteinAlignment, type Alignment } from './text/alignment.js';
export { imitationWeights } from './algorithms/rlmec/imitation_weights.js';
export { tokenRewards } from './algorithms/rlmec/token_rewards.js';
export { escapeHtml, escapeVisible } from './report/html_escape.js';
export { tokensHtml, type TokenRewardEntry, type TokenRewardReport } from './report/tokens_html.js';
export {
  lineChartSvg, barChartSvg, MAX_CHART_POINTS,
  type ChartPoint, type ChartSeries, type LineChartSpec, type ChartBar, type BarChartSpec,
} from './report/charts.js';
export {
  reportHtml, type Report, type ReportSection, type ReportTable, type ReportSample, type ReportSampleOutput,
} from './report/report_html.js';
export {
  grmExamples, rewritePrompt, locatePrompt, locateAnswer, parseLocateAnswer, REWRITE_PREFIX, REWRITE_INSTRUCTION, LOCATE_INSTRUCTION,
  type GRMSample, type GRMExample, type GRMDataset,
} from './algorithms/rlmec/grm_data.js';
export { promptOf, isCorrect, fromArithmetic, type ReasoningProblem } from './data/problems.js';
export { arithmeticTeacher, referenceTeacher, rewritesTeacher, firstChangedLine, type RewriteTeacher } from './algorithms/rlmec/teacher.js';
export { grmRewrites, grmTokenProbabilities, withEos, type GRMOptions, type GRMRewrites, type JudgedSample } from './algorithms/rlmec/grm.js';
export { rewriteStart, rewriteStarts, GRM_REWRITE_MODES, type GRMRewriteMode, type LocateFallback, type RewriteStart } from './algorithms/rlmec/rewrite_start.js';
export { rlmecRows, normalisedText, type JudgedPolicySample, type RLMECRow, type RLMECRows } from './algorithms/rlmec/rlmec_rows.js';
export { rlmecTrainStep, type ScoredRow, type RLMECStepOptions } from './algorithms/rlmec/step.js';
export { RLMECTrainer, type RLMECTrainerInit } from './algorithms/rlmec/trainer.js';
export { judgeSamples, type JudgeOptions, type JudgeReport, type JudgeResult } from './algorithms/rlmec/judge.js';
export { RLMEC_CONFIG, rlmecConfig, type RLMECConfig } from './algorithms/rlmec/config.js';
export { solveProblems, testAccuracy, type Solution, type SolveOptions } from './tasks/solve.js';
export { RLMEC_RUN_CONFIG, rlmecRunConfig, type RLMECRunConfig } from './pipelines/rlmec/run_config.js';
export { builtinArithmeticSource, type RLMECSource, type SeedData } from './pipelines/rlmec/source.js';
export {
  runRLMECExperiment, METHODS, type MethodKey, type RLMECExperimentResult, type SeedResult,
} from './pipelines/rlmec/pipeline.js';
export { summarise, formatTable, percent, type MethodSummary, type TableFormat } from './pipelines/comparison_table.js';
export { DEMO_RUN_CONFIG, DEMO_PIPELINES, DEMO_PEFT, DEMO_RLP_SCALE, FULL_SEEDS, demoRunConfig, type DemoRunConfig, type DemoPipelines } from './pipelines/demo/run_config.js';
// Both pipelines take the same hooks (output, log, progress, onStep, signal); the per-pipeline names stay for existing code.
export type { ExperimentHooks, ExperimentHooks as RLMECExperimentHooks, ExperimentHooks as RLPExperimentHooks, StageStepEvent } from './pipelines/stage.js';
export { demoReport, type DemoReportInput } from './pipelines/demo/report.js';
export { runDemo, trainingNote, type DemoHooks, type DemoOverrides, type DemoResult } from './pipelines/demo/demo.js';
export { RLP_RUN_CONFIG, RLP_STAGES, RLP_METHODS, rlpRunConfig, rerunStages, rewardModelSize, spgAblations, type RLPRunConfig, type RLPStage, type RLPMethodChoice } from './pipelines/rlp/run_config.js';
export { builtinInstructionSource, builtinTaskOptions, type RLPSource, type RLPSeedData, type LabelledPreferences } from './pipelines/rlp/source.js';
export {
  runRLPExperiment, RLP_POLICIES, RLP_REWARD_MODELS, SPG_ABLATION_ROWS, RLP_PAIRED_DIFFERENCES, type RLPTables, type RLPPolicyKey, type RLPRewardKey, type RLPSeedResult, type RLPExperimentResult,
} from './pipelines/rlp/pipeline.js';
export { winRate, promptWinRate, evaluateWinRate, type PreferenceCode, type PreferenceAnnotator, type AnnotatedItem, type WinRateResult } from './eval/win_rate.js';
export { pairedBootstrap, type PairedBootstrapOptions, type PairedDifference } from './eval/paired_bootstrap.js';
export { clusterOutputs, type Equivalence } from './algorithms/rlp/clustering.js';
export { SPG_ABLATIONS, rankedPair, rankedPreferences, meanLogprob, type SPGAblation, type RankedGroup, type RankedPair } from './algorithms/rlp/spg_ablation.js';
export { cosineEquivalence, type EmbeddingSource } from './algorithms/rlp/cosine_equivalence.js';
export {
  selectSyntheticPair, synthesizePreferences, mergePreferences, DEFAULT_SPG_GAMMA,
  type SampleGroup, type SyntheticPairOptions, type SyntheticPair, type DropReason, type SynthesizeOptions, type SyntheticPreferences,
} from './algorithms/rlp/synthetic_preferences.js';
