export { TrainerModule } from './trainer.module';
export { startTrainerApp } from './bootstrap';
export { TrainerConfig } from './trainer.config';
export type { TrainerConfigValues } from './trainer.config';
export { decidePromotion } from './promotion/promotion-gate';
